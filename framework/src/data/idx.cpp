#include "symgrad/data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

namespace symgrad {

namespace {

namespace fs = std::filesystem;

// The bytes of a file, plain or gzip, read in order.
class Source {
 public:
  explicit Source(const std::string& path) : path_(path) {
    require_regular_file(path);
    std::ifstream probe(path, std::ios::binary);
    if (!probe) throw Error(fmt::format("cannot open '{}'", path));
    unsigned char magic[2] = {0, 0};
    probe.read(reinterpret_cast<char*>(magic), 2);
    gzip_ = probe.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
    const auto size = fs::file_size(path);
    if (gzip_) {
      // the trailer's last 4 bytes: the uncompressed size modulo 2^32 (RFC 1952)
      if (size < 18) throw Error(fmt::format("'{}' is too short for a gzip file", path));
      unsigned char tail[4];
      probe.seekg(static_cast<std::streamoff>(size - 4));
      probe.read(reinterpret_cast<char*>(tail), 4);
      content_mod32_ = tail[0] | (tail[1] << 8) | (tail[2] << 16) | (static_cast<std::uint32_t>(tail[3]) << 24);
      gz_ = gzopen(path.c_str(), "rb");
      if (gz_ == nullptr) throw Error(fmt::format("cannot open '{}' as gzip", path));
    } else {
      size_ = size;
      file_.open(path, std::ios::binary);
    }
  }
  ~Source() {
    if (gz_ != nullptr) gzclose(gz_);
  }
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  /// Whether a content of `n` bytes in total is what the file holds (for gzip: modulo 2^32).
  bool holds(std::uint64_t n) const { return gzip_ ? (n & 0xffffffffull) == content_mod32_ : n == size_; }
  std::string describe_size() const {
    return gzip_ ? fmt::format("its gzip trailer records {} bytes (modulo 2^32)", content_mod32_)
                 : fmt::format("it has {} bytes", size_);
  }

  void read(void* dst, std::size_t n, const char* what) {
    std::size_t got = 0;
    if (gzip_) {
      while (got < n) {
        const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
        const int r = gzread(gz_, static_cast<char*>(dst) + got, chunk);
        if (r <= 0) break;
        got += static_cast<std::size_t>(r);
      }
    } else {
      file_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
      got = static_cast<std::size_t>(file_.gcount());
    }
    if (got != n) throw Error(fmt::format("'{}' ends inside {} (read {} of {} bytes)", path_, what, got, n));
  }
  bool at_end() {
    char c;
    if (gzip_) return gzread(gz_, &c, 1) == 0;
    return !file_.read(&c, 1);
  }

 private:
  std::string path_;
  bool gzip_ = false;
  gzFile gz_ = nullptr;
  std::ifstream file_;
  std::uint64_t size_ = 0;
  std::uint32_t content_mod32_ = 0;
};

std::uint32_t big_endian32(const unsigned char* b) {
  return (static_cast<std::uint32_t>(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
}

}  // namespace

namespace {

// An IDX file's contents as stored: element type code, dimensions and the raw big-endian bytes.
struct RawIdx {
  unsigned type = 0;
  std::vector<std::int64_t> dims;
  std::vector<unsigned char> bytes;
};

RawIdx read_raw(const std::string& path) {
  Source src(path);
  unsigned char magic[4];
  src.read(magic, 4, "the magic number");
  if (magic[0] != 0 || magic[1] != 0) {
    // a file compressed twice still starts with gzip's magic once decompressed
    const bool gzip = magic[0] == 0x1f && magic[1] == 0x8b;
    throw Error(fmt::format("'{}' is not an IDX file: its magic number starts {:02x} {:02x}, not 00 00{}", path, magic[0],
                            magic[1],
                            gzip ? " (its content is still gzip-compressed: it was compressed twice; gunzip it once)" : ""));
  }
  const unsigned type = magic[2], rank = magic[3];
  std::size_t size = 0;
  switch (type) {
    case 0x08: case 0x09: size = 1; break;
    case 0x0B: size = 2; break;
    case 0x0C: case 0x0D: size = 4; break;
    case 0x0E: size = 8; break;
    default: throw Error(fmt::format("'{}': unknown IDX element type 0x{:02x}", path, type));
  }
  if (rank == 0 || rank > 8) throw Error(fmt::format("'{}': IDX rank {} (1 to 8 supported)", path, rank));
  std::vector<unsigned char> header(4 * rank);
  src.read(header.data(), header.size(), "the dimensions");
  std::vector<std::int64_t> dims(rank);
  std::uint64_t count = 1;
  for (unsigned i = 0; i < rank; ++i) {
    dims[i] = big_endian32(&header[4 * i]);
    if (dims[i] == 0 || count > (1ull << 40) / static_cast<std::uint64_t>(dims[i])) {
      throw Error(fmt::format("'{}': dimension {} is {} (empty or too large)", path, i, dims[i]));
    }
    count *= static_cast<std::uint64_t>(dims[i]);
  }
  const std::uint64_t total = 4 + 4 * rank + count * size;
  if (!src.holds(total)) {  // before allocating anything
    std::string shape;
    for (auto d : dims) shape += fmt::format("{}{}", shape.empty() ? "" : "x", d);
    throw Error(fmt::format("'{}': the header promises {} elements ({}) of {} bytes, {} bytes in all, but {}", path,
                            count, shape, size, total, src.describe_size()));
  }
  // A gzip trailer gives the size only modulo 2^32, so a header can still lie by a multiple of
  // 4 GiB: the buffer grows as the data arrives (64 MiB at a time), never ahead of it by more.
  RawIdx raw{type, dims, {}};
  constexpr std::uint64_t kChunk = 64ull << 20;
  while (raw.bytes.size() < count * size) {
    const std::size_t at = raw.bytes.size();
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, count * size - at));
    raw.bytes.resize(at + n);
    src.read(raw.bytes.data() + at, n, "the data");
  }
  if (!src.at_end()) throw Error(fmt::format("'{}' has data after its last element", path));
  return raw;
}

}  // namespace

Tensor read_idx(const std::string& path) {
  const RawIdx raw = read_raw(path);
  const unsigned type = raw.type;
  const DType dtype = type == 0x0D ? DType::f32 : type == 0x0E ? DType::f64 : DType::i32;
  Tensor out(dtype, Shape(raw.dims));
  const auto n = out.numel();
  const unsigned char* p = raw.bytes.data();
  switch (type) {
    case 0x08: for (std::int64_t i = 0; i < n; ++i) out.data<std::int32_t>()[i] = p[i]; break;
    case 0x09: for (std::int64_t i = 0; i < n; ++i) out.data<std::int32_t>()[i] = static_cast<std::int8_t>(p[i]); break;
    case 0x0B:
      for (std::int64_t i = 0; i < n; ++i) {
        out.data<std::int32_t>()[i] = static_cast<std::int16_t>((p[2 * i] << 8) | p[2 * i + 1]);
      }
      break;
    case 0x0C:
      for (std::int64_t i = 0; i < n; ++i) out.data<std::int32_t>()[i] = static_cast<std::int32_t>(big_endian32(p + 4 * i));
      break;
    case 0x0D:
      for (std::int64_t i = 0; i < n; ++i) {
        const std::uint32_t b = big_endian32(p + 4 * i);
        std::memcpy(out.data<float>() + i, &b, 4);
      }
      break;
    default:
      for (std::int64_t i = 0; i < n; ++i) {
        const std::uint64_t b = (static_cast<std::uint64_t>(big_endian32(p + 8 * i)) << 32) | big_endian32(p + 8 * i + 4);
        std::memcpy(out.data<double>() + i, &b, 8);
      }
  }
  if (dtype != DType::i32) {  // float data: a NaN or an infinity is named, not trained on
    for (std::int64_t i = 0; i < n; ++i) {
      if (!std::isfinite(out.get(i))) {
        throw Error(fmt::format("'{}': element {} is {} (float data must be finite)", path, i, out.get(i)));
      }
    }
  }
  return out;
}

Dataset load_mnist_format(const std::string& images, const std::string& labels, const std::string& name) {
  // the images' bytes go straight to f32 (no wider copy in between: peak memory)
  const RawIdx x = read_raw(images);
  if (x.dims.size() != 3 || x.type != 0x08) {
    throw Error(fmt::format("'{}': images must be [N, rows, cols] unsigned bytes, got rank {} of type 0x{:02x}", images,
                            x.dims.size(), x.type));
  }
  const Tensor y = read_idx(labels);
  if (y.shape().rank() != 1 || y.dtype() != DType::i32 || y.shape()[0] != x.dims[0]) {
    throw Error(fmt::format("'{}': labels must be [{}] integers (one per image of '{}'), got {}", labels, x.dims[0],
                            images, y.type().to_string()));
  }
  const std::int64_t n = x.dims[0], rows = x.dims[1], cols = x.dims[2];
  Dataset d{name, Tensor(DType::f32, Shape{n, 1, rows, cols}), y, 0, {}};
  float* dst = d.features.data<float>();
  for (std::size_t i = 0; i < x.bytes.size(); ++i) dst[i] = static_cast<float>(x.bytes[i]) / 255.0f;
  std::int32_t top = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int32_t v = y.data<std::int32_t>()[i];
    if (v < 0 || v > 255) throw Error(fmt::format("'{}': label {} at position {} is not a class", labels, v, i));
    top = std::max(top, v);
  }
  d.num_classes = top + 1;
  return d;
}

Dataset load_fashion_mnist(const std::string& part, const std::string& dir) {
  if (part != "train" && part != "test") {
    throw UsageError(fmt::format("Fashion-MNIST has a 'train' and a 'test' part, not '{}'", part));
  }
  const std::string prefix = part == "train" ? "train" : "t10k";
  const fs::path images = fs::path(dir) / (prefix + "-images-idx3-ubyte.gz");
  const fs::path labels = fs::path(dir) / (prefix + "-labels-idx1-ubyte.gz");
  if (!fs::exists(images)) {
    throw Error(fmt::format("Fashion-MNIST is not at '{}' (no {}): scripts/setup installs Debian's "
                            "dataset-fashion-mnist there",
                            dir, images.filename().string()));
  }
  Dataset d = load_mnist_format(images.string(), labels.string(), "fashion-mnist/" + part);
  d.num_classes = 10;
  return d;
}

}  // namespace symgrad
