#pragma once
/// @file
/// A portable seeded generator: SplitMix64 bits, uniform doubles, Box-Muller normals. The standard
/// library's distributions differ between implementations; this one gives the same numbers
/// everywhere, so a seed names a data set, an initialization or a dropout mask for good.

#include <cmath>
#include <cstdint>
#include <numbers>
#include <string_view>

#include "symgrad/core/hash.hpp"

namespace symgrad {

/// SplitMix64 (Steele, Lea and Flood, 2014).
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t bits() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1).
  double uniform() { return static_cast<double>(bits() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  /// Standard normal.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u = 0;
    while (u <= 0) u = uniform();
    const double r = std::sqrt(-2 * std::log(u)), a = 2 * std::numbers::pi * uniform();
    spare_ = r * std::sin(a);
    has_spare_ = true;
    return r * std::cos(a);
  }
  /// Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) { return bits() % n; }

 private:
  std::uint64_t state_;
  double spare_ = 0;
  bool has_spare_ = false;
};

/// A seed derived from a seed and a name (FNV-1a of the name mixed in): independent streams per
/// parameter or per purpose from one user seed.
inline std::uint64_t derive_seed(std::uint64_t seed, std::string_view name) {
  return Fnv1a(Fnv1a::kOffsetBasis ^ seed).add(name).value();
}

}  // namespace symgrad
