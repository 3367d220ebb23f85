#pragma once
/// @file
/// FNV-1a, 64 bits: the checksum of variables files, the seeds derived from names, and the
/// fingerprints data-parallel ranks compare. Not cryptographic.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace symgrad {

class Fnv1a {
 public:
  static constexpr std::uint64_t kOffsetBasis = 14695981039346656037ull;
  explicit Fnv1a(std::uint64_t start = kOffsetBasis) : h_(start) {}
  Fnv1a& add(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < n; ++i) h_ = (h_ ^ p[i]) * 1099511628211ull;
    return *this;
  }
  Fnv1a& add(std::string_view s) { return add(s.data(), s.size()); }
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_;
};

}  // namespace symgrad
