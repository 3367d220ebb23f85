#include "symgrad/data/npy.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <zlib.h>

#include "symgrad/core/error.hpp"

namespace symgrad {

namespace {

constexpr std::int64_t kMaxElements = std::int64_t{1} << 40;

std::string read_file(const std::string& path) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open '{}'", path));
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw Error(fmt::format("cannot read '{}'", path));
  return s.str();
}

std::uint64_t little(const std::string& b, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
  return v;
}

// The value of `key` in NumPy's header dict ("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }"):
// the text after its colon, up to the next top-level comma.
std::string dict_value(const std::string& header, const std::string& key, const std::string& name) {
  std::size_t at = std::string::npos;
  for (const char q : {'\'', '"'}) {
    at = header.find(std::string(1, q) + key + std::string(1, q));
    if (at != std::string::npos) break;
  }
  if (at == std::string::npos) throw Error(fmt::format("'{}': the .npy header has no '{}'", name, key));
  std::size_t colon = header.find(':', at + key.size() + 2);
  if (colon == std::string::npos) throw Error(fmt::format("'{}': the .npy header's '{}' has no value", name, key));
  std::size_t begin = header.find_first_not_of(" ", colon + 1), end = begin;
  int depth = 0;
  for (; end < header.size(); ++end) {
    const char c = header[end];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if ((c == ',' && depth == 0) || c == '}') break;
  }
  if (begin == std::string::npos || depth != 0) throw Error(fmt::format("'{}': the .npy header's '{}' is malformed", name, key));
  std::string v = header.substr(begin, end - begin);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

struct Descr {
  char order = '<', kind = 'f';
  int size = 4;
};

Descr parse_descr(std::string v, const std::string& name) {
  if (v.size() < 2 || (v.front() != '\'' && v.front() != '"') || v.back() != v.front()) {
    throw Error(fmt::format("'{}': unsupported element type {} (symgrad reads plain numbers: floats, integers, "
                            "booleans)",
                            name, v.substr(0, 40)));
  }
  v = v.substr(1, v.size() - 2);
  Descr d;
  if (v.size() < 3 || std::string("<>|=").find(v[0]) == std::string::npos ||
      std::string("fiub").find(v[1]) == std::string::npos || v.find_first_not_of("0123456789", 2) != std::string::npos) {
    throw Error(fmt::format("'{}': unsupported element type '{}' (symgrad reads floats f4 and f8, integers i1 to i8 "
                            "and u1 to u8, booleans b1)",
                            name, v.substr(0, 40)));
  }
  d.order = v[0] == '=' ? '<' : v[0];
  d.kind = v[1];
  d.size = std::atoi(v.c_str() + 2);
  const bool ok = d.kind == 'f' ? (d.size == 4 || d.size == 8)
                  : d.kind == 'b' ? d.size == 1
                                  : (d.size == 1 || d.size == 2 || d.size == 4 || d.size == 8);
  if (!ok) throw Error(fmt::format("'{}': unsupported element type '{}' (f4, f8, i1-i8, u1-u8, b1)", name, v));
  return d;
}

std::vector<std::int64_t> parse_shape(const std::string& v, const std::string& name) {
  if (v.size() < 2 || v.front() != '(' || v.back() != ')') throw Error(fmt::format("'{}': the .npy shape {} is not a tuple", name, v));
  std::vector<std::int64_t> dims;
  std::int64_t count = 1;
  std::stringstream s(v.substr(1, v.size() - 2));
  for (std::string part; std::getline(s, part, ',');) {
    const auto a = part.find_first_not_of(" "), b = part.find_last_not_of(" L");
    if (a == std::string::npos) continue;  // the trailing comma of (3,)
    const std::string digits = part.substr(a, b - a + 1);
    if (digits.empty() || digits.size() > 15 || digits.find_first_not_of("0123456789") != std::string::npos) {
      throw Error(fmt::format("'{}': the .npy shape {} is not a tuple of sizes", name, v));
    }
    const std::int64_t d = std::stoll(digits);
    if (d > 0 && count > kMaxElements / d) throw Error(fmt::format("'{}': the .npy shape {} is too large", name, v));
    count *= d;
    dims.push_back(d);
  }
  return dims;
}

// The element at byte `p` as a double (floats) or an integer.
template <class T>
T element(const char* p, const Descr& d) {
  char bytes[8];
  std::memcpy(bytes, p, static_cast<std::size_t>(d.size));
  if (d.order == '>') std::reverse(bytes, bytes + d.size);
  if (d.kind == 'f') {
    if (d.size == 4) {
      float f;
      std::memcpy(&f, bytes, 4);
      return static_cast<T>(f);
    }
    double f;
    std::memcpy(&f, bytes, 8);
    return static_cast<T>(f);
  }
  std::uint64_t u = 0;
  for (int i = d.size - 1; i >= 0; --i) u = u << 8 | static_cast<unsigned char>(bytes[i]);
  if (d.kind == 'i' && d.size < 8 && (u >> (8 * d.size - 1)) != 0) u |= ~std::uint64_t{0} << (8 * d.size);  // sign
  if (d.kind == 'u') return static_cast<T>(u);
  return static_cast<T>(static_cast<std::int64_t>(u));
}

// The offset of element `c` (C order) in data stored in `fortran` order.
std::int64_t source_index(std::int64_t c, const std::vector<std::int64_t>& dims, bool fortran) {
  if (!fortran || dims.size() < 2) return c;
  std::int64_t f = 0, stride = 1;
  std::vector<std::int64_t> idx(dims.size());
  for (std::size_t k = dims.size(); k-- > 0;) {
    idx[k] = c % dims[k];
    c /= dims[k];
  }
  for (std::size_t k = 0; k < dims.size(); ++k) {
    f += idx[k] * stride;
    stride *= dims[k];
  }
  return f;
}

}  // namespace

Tensor parse_npy(const std::string& b, const std::string& name) {
  if (b.size() < 10 || b.compare(0, 6, "\x93NUMPY") != 0) throw Error(fmt::format("'{}' is not a .npy file (no \\x93NUMPY magic)", name));
  const int major = static_cast<unsigned char>(b[6]);
  if (major < 1 || major > 3) throw Error(fmt::format("'{}': .npy format version {} (symgrad reads 1 to 3)", name, major));
  const std::size_t start = major == 1 ? 10 : 12;
  if (b.size() < start) throw Error(fmt::format("'{}' is truncated in its header", name));
  const std::uint64_t header_len = little(b, 8, major == 1 ? 2 : 4);
  if (header_len > b.size() - start) throw Error(fmt::format("'{}' is truncated in its header", name));
  const std::string header = b.substr(start, header_len);
  const Descr d = parse_descr(dict_value(header, "descr", name), name);
  const std::string order = dict_value(header, "fortran_order", name);
  if (order != "True" && order != "False") throw Error(fmt::format("'{}': fortran_order is {}", name, order));
  const std::vector<std::int64_t> dims = parse_shape(dict_value(header, "shape", name), name);
  std::int64_t n = 1;
  for (auto x : dims) n *= x;
  const std::size_t data = start + header_len;
  const auto need = static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(d.size);
  if (b.size() - data < need) {
    throw Error(fmt::format("'{}' is truncated: its shape {} of {}-byte elements needs {} bytes of data, it has {}", name,
                            Shape(dims).to_string(), d.size, need, b.size() - data));
  }
  if (b.size() - data > need) throw Error(fmt::format("'{}' has {} bytes after its data", name, b.size() - data - need));
  const char* src = b.data() + data;
  const bool fortran = order == "True";
  const Shape shape(dims);
  if (d.kind == 'f') {
    Tensor t(d.size == 4 ? DType::f32 : DType::f64, shape);
    for (std::int64_t i = 0; i < n; ++i) {
      const char* p = src + source_index(i, dims, fortran) * d.size;
      if (d.size == 4) {
        t.data<float>()[i] = element<float>(p, d);
      } else {
        t.data<double>()[i] = element<double>(p, d);
      }
    }
    return t;
  }
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  bool fits = true;
  for (std::int64_t i = 0; i < n; ++i) {
    const char* p = src + source_index(i, dims, fortran) * d.size;
    if (d.kind == 'u' && d.size == 8 && element<std::uint64_t>(p, d) > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw Error(fmt::format("'{}': element {} does not fit a 64-bit signed integer", name, i));
    }
    v[static_cast<std::size_t>(i)] = element<std::int64_t>(p, d);
    fits = fits && v[static_cast<std::size_t>(i)] >= std::numeric_limits<std::int32_t>::min() &&
           v[static_cast<std::size_t>(i)] <= std::numeric_limits<std::int32_t>::max();
  }
  Tensor t(fits ? DType::i32 : DType::i64, shape);
  for (std::int64_t i = 0; i < n; ++i) {
    if (fits) {
      t.data<std::int32_t>()[i] = static_cast<std::int32_t>(v[static_cast<std::size_t>(i)]);
    } else {
      t.data<std::int64_t>()[i] = v[static_cast<std::size_t>(i)];
    }
  }
  return t;
}

Tensor read_npy(const std::string& path) { return parse_npy(read_file(path), path); }

std::map<std::string, Tensor> read_npz(const std::string& path) { return parse_npz(read_file(path), path); }

std::map<std::string, Tensor> parse_npz(const std::string& z, const std::string& path) {
  // the end of central directory record: signature PK\5\6, at most 64 KiB of comment after it
  std::size_t eocd = std::string::npos;
  for (std::size_t i = z.size() >= 22 ? z.size() - 22 : 0; z.size() >= 22; --i) {
    if (little(z, i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
    if (i == 0 || z.size() - i > 22 + 65535) break;
  }
  if (eocd == std::string::npos) throw Error(fmt::format("'{}' is not an .npz file (no zip directory)", path));
  const std::uint64_t count = little(z, eocd + 10, 2), offset = little(z, eocd + 16, 4);
  if (count == 0xffff || offset == 0xffffffff) {
    throw Error(fmt::format("'{}' is a zip64 archive (over 4 GiB), which symgrad does not read", path));
  }
  std::map<std::string, Tensor> arrays;
  std::size_t at = offset;
  for (std::uint64_t k = 0; k < count; ++k) {
    if (at + 46 > z.size() || little(z, at, 4) != 0x02014b50) throw Error(fmt::format("'{}': its zip directory is damaged", path));
    const auto method = little(z, at + 10, 2), crc = little(z, at + 16, 4), packed = little(z, at + 20, 4),
               size = little(z, at + 24, 4), name_len = little(z, at + 28, 2), extra = little(z, at + 30, 2),
               comment = little(z, at + 32, 2), local = little(z, at + 42, 4);
    if (at + 46 + name_len > z.size()) throw Error(fmt::format("'{}': its zip directory is damaged", path));
    const std::string member = z.substr(at + 46, name_len);
    at += 46 + name_len + extra + comment;
    const std::string where = fmt::format("{} (member '{}')", path, member);
    if (local + 30 > z.size() || little(z, local, 4) != 0x04034b50) throw Error(fmt::format("'{}': damaged", where));
    const std::size_t data = local + 30 + little(z, local + 26, 2) + little(z, local + 28, 2);
    if (data > z.size() || packed > z.size() - data) throw Error(fmt::format("'{}' is truncated", where));
    std::string bytes;
    if (method == 0) {
      if (packed != size) throw Error(fmt::format("'{}' is damaged (its sizes do not fit)", where));
      bytes = z.substr(data, packed);
    } else if (method == 8) {  // raw deflate
      // deflate shrinks data at most about 1032:1: a larger claimed size is a damaged directory
      if (size > packed * 1032 + 1024) throw Error(fmt::format("'{}' is damaged (its sizes do not fit)", where));
      bytes.resize(size);
      z_stream s{};
      if (inflateInit2(&s, -15) != Z_OK) throw Error(fmt::format("'{}': cannot inflate", where));
      s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data() + data));
      s.avail_in = static_cast<uInt>(packed);
      s.next_out = reinterpret_cast<Bytef*>(bytes.data());
      s.avail_out = static_cast<uInt>(size);
      const int r = inflate(&s, Z_FINISH);
      const auto out = s.total_out;
      inflateEnd(&s);
      if (r != Z_STREAM_END || out != size) throw Error(fmt::format("'{}' is damaged (its compressed data do not inflate)", where));
    } else {
      throw Error(fmt::format("'{}' uses zip compression method {} (np.savez stores, np.savez_compressed deflates)", where,
                              method));
    }
    if (bytes.size() != size) throw Error(fmt::format("'{}' is truncated", where));
    if (crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())) != crc) {
      throw Error(fmt::format("'{}' is damaged (its CRC-32 does not match)", where));
    }
    std::string key = member;
    if (key.size() > 4 && key.compare(key.size() - 4, 4, ".npy") == 0) key.resize(key.size() - 4);
    arrays[key] = parse_npy(bytes, where);
  }
  if (arrays.empty()) throw Error(fmt::format("'{}' holds no arrays", path));
  return arrays;
}

Dataset dataset_from_arrays(const std::string& name, const std::map<std::string, Tensor>& arrays) {
  std::string names;
  for (const auto& [n, t] : arrays) names += (names.empty() ? "" : ", ") + n + " " + t.type().to_string();
  const auto x = arrays.find("x");
  if (x == arrays.end()) throw UsageError(fmt::format("'{}' has no array 'x' (the features); it has: {}", name, names));
  Dataset d;
  d.name = name;
  auto rows = [&](const std::string& n, const Tensor& t) {
    if (t.shape().rank() == 0 || t.shape()[0] != x->second.shape()[0]) {
      throw UsageError(fmt::format("'{}': array '{}' has {} rows, 'x' has {} ({})", name, n,
                                   t.shape().rank() == 0 ? 0 : t.shape()[0], x->second.shape()[0], names));
    }
  };
  auto real = [](const Tensor& t) { return t.dtype() == DType::f32 ? t : t.to(DType::f32); };
  rows("x", x->second);
  d.features = real(x->second);
  for (const auto& [n, t] : arrays) {
    if (n == "x") continue;
    rows(n, t);
    const bool integer = t.dtype() == DType::i32 || t.dtype() == DType::i64;
    if (n == "y" && integer && t.shape().rank() == 1) {
      d.labels = t.dtype() == DType::i32 ? t : t.to(DType::i32);
      for (std::int64_t i = 0; i < t.numel(); ++i) {
        const double c = t.get(i);
        if (c < 0 || c > 1e6) throw UsageError(fmt::format("'{}': label {} at row {} is not a class", name, c, i));
        d.num_classes = std::max(d.num_classes, static_cast<std::int64_t>(c) + 1);
      }
    } else {
      d.arrays[n] = integer && t.shape().rank() == 1 ? (t.dtype() == DType::i32 ? t : t.to(DType::i32)) : real(t);
    }
  }
  return d;
}

}  // namespace symgrad
