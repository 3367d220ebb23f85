#include "symgrad/io/variables_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/hash.hpp"
#include "symgrad/io/atomic_file.hpp"

namespace symgrad {

namespace {

constexpr char kMagic[8] = {'S', 'Y', 'M', 'G', 'R', 'A', 'D', 'V'};
// Version 2 checksums each tensor's whole record (name, dtype, shape, byte count and data), so a
// damaged header is found like damaged data; version 1 (data only) is still read.
constexpr std::uint32_t kVersion = 2;

std::uint64_t fnv1a(const void* data, std::size_t n) { return Fnv1a().add(data, n).value(); }

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// Reads from a buffer, failing with the file's name when it runs out.
class Reader {
 public:
  Reader(const std::string& data, const std::string& path) : d_(data), path_(path) {}
  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, d_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  const char* take(std::size_t n, const char* what) {
    need(n, what);
    const char* p = d_.data() + at_;
    at_ += n;
    return p;
  }
  bool done() const { return at_ == d_.size(); }
  std::size_t at() const { return at_; }
  const char* data() const { return d_.data(); }

 private:
  void need(std::size_t n, const char* what) const {
    if (n > d_.size() - at_) {
      throw Error(fmt::format("'{}' is truncated: {} needs {} bytes at offset {}, the file has {}", path_, what, n, at_,
                              d_.size()));
    }
  }
  const std::string& d_;
  const std::string& path_;
  std::size_t at_ = 0;
};

}  // namespace

void save_variables(const VariableStore& store, const std::string& path) {
  std::string out(kMagic, sizeof kMagic);
  put(out, kVersion);
  const auto names = store.names();
  put(out, static_cast<std::uint64_t>(names.size()));
  for (const auto& name : names) {
    const Tensor& t = store.get(name);
    const std::size_t record = out.size();
    put(out, static_cast<std::uint32_t>(name.size()));
    out += name;
    put(out, static_cast<std::uint8_t>(t.dtype()));
    put(out, static_cast<std::uint32_t>(t.shape().rank()));
    for (std::size_t i = 0; i < t.shape().rank(); ++i) put(out, static_cast<std::int64_t>(t.shape()[i]));
    put(out, static_cast<std::uint64_t>(t.nbytes()));
    out.append(static_cast<const char*>(t.raw()), t.nbytes());
    put(out, fnv1a(out.data() + record, out.size() - record));
  }
  write_file_atomically(path, out);
}

VariableStore load_variables(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open '{}'", path));
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Reader r(data, path);
  if (std::memcmp(r.take(sizeof kMagic, "the magic"), kMagic, sizeof kMagic) != 0) {
    throw Error(fmt::format("'{}' is not a symgrad variables file (bad magic)", path));
  }
  const auto version = r.get<std::uint32_t>("the version");
  if (version == 0 || version > kVersion) {
    throw Error(fmt::format("'{}' has format version {}; this symgrad reads versions 1 to {}{}", path, version, kVersion,
                            version > kVersion ? " (written by a newer symgrad?)" : ""));
  }
  const auto count = r.get<std::uint64_t>("the count");
  VariableStore store;
  for (std::uint64_t k = 0; k < count; ++k) {
    const std::size_t record = r.at();
    const auto len = r.get<std::uint32_t>("a name's length");
    const std::string name(r.take(len, "a name"), len);
    const auto dtype = r.get<std::uint8_t>("a dtype");
    if (dtype > static_cast<std::uint8_t>(DType::i64)) {
      throw Error(fmt::format("'{}': tensor '{}' has an unknown dtype code {}", path, name, dtype));
    }
    const auto rank = r.get<std::uint32_t>("a rank");
    if (rank > 16) throw Error(fmt::format("'{}': tensor '{}' has rank {}", path, name, rank));
    std::vector<std::int64_t> dims(rank);
    for (auto& d : dims) d = r.get<std::int64_t>("a dimension");
    const auto nbytes = r.get<std::uint64_t>("a byte count");
    const char* bytes = r.take(nbytes, "tensor data");  // checked against the file before allocating
    const std::uint64_t computed = version == 1 ? fnv1a(bytes, nbytes) : fnv1a(r.data() + record, r.at() - record);
    const auto hash = r.get<std::uint64_t>("a checksum");
    if (computed != hash) {
      throw Error(fmt::format("'{}': tensor '{}' fails its checksum (the file is damaged)", path, name));
    }
    Shape shape;
    try {
      shape = Shape(dims);
    } catch (const ShapeError& e) {
      throw Error(fmt::format("'{}': tensor '{}' has a bad shape: {}", path, name, e.what()));
    }
    const TensorType type{static_cast<DType>(dtype), shape};
    // the element count, without overflow: it must come to exactly the bytes the file holds
    std::uint64_t elements = 1;
    bool fits = type.shape.is_static();
    for (std::size_t i = 0; fits && i < shape.rank(); ++i) {
      const auto d = static_cast<std::uint64_t>(shape[i]);
      fits = d == 0 || elements <= nbytes / d;
      elements *= fits ? d : 1;
    }
    if (!fits || elements * dtype_size(type.dtype) != nbytes) {
      throw Error(fmt::format("'{}': tensor '{}' is {} but holds {} bytes", path, name, type.to_string(), nbytes));
    }
    Tensor t(type);
    std::memcpy(t.raw(), bytes, nbytes);
    store.set(name, t);
  }
  if (!r.done()) throw Error(fmt::format("'{}' has bytes after its last tensor", path));
  return store;
}

}  // namespace symgrad
