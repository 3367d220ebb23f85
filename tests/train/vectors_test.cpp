// The host vector kernels: below the threading threshold they are the plain loops; above it
// (threaded, chunked sums) they agree with a long double reference and repeat their bits.

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "symgrad/runtime/threads.hpp"
#include "symgrad/plugin/vectors.hpp"

namespace symgrad {
namespace {

std::vector<double> wave(std::size_t n, double f) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::sin(f * static_cast<double>(i) + 0.5) * (1.0 + i % 7);
  return v;
}

TEST(HostVectors, SmallVectorsAreThePlainLoops) {
  const std::vector<double> a{1, -2, 3}, b{4, 5, -6};
  EXPECT_EQ(dot(a, b), 1.0 * 4 - 2.0 * 5 - 3.0 * 6);
  EXPECT_EQ(max_abs(b), 6.0);
  EXPECT_EQ(max_abs(std::vector<double>{}), 0.0);
  std::vector<double> v = a;
  EXPECT_EQ(add_scaled_dot(v, 2.0, b, a), 9.0 * 1 + 8.0 * -2 + -9.0 * 3);  // v = a + 2b = (9, 8, -9)
  EXPECT_EQ(v, (std::vector<double>{9, 8, -9}));
  std::vector<double> out;
  scale_into(out, -0.5, b);
  EXPECT_EQ(out, (std::vector<double>{-2, -2.5, 3}));
  axpy_into(out, a, 2.0, b);
  EXPECT_EQ(out, (std::vector<double>{9, 8, -9}));
  add_scaled(out, -2.0, b);
  EXPECT_EQ(out, a);
}

TEST(HostVectors, LargeVectorsAgreeWithALongDoubleReferenceAndRepeat) {
  const std::size_t n = 1'000'003;  // threaded, uneven chunks
  const std::vector<double> a = wave(n, 0.001), b = wave(n, 0.0037), w = wave(n, 0.02);
  long double ref = 0, ref_updated = 0, ref_max = 0;
  for (std::size_t i = 0; i < n; ++i) {
    ref += static_cast<long double>(a[i]) * b[i];
    ref_max = std::max(ref_max, std::abs(static_cast<long double>(b[i])));
    const double v = a[i] + 0.25 * b[i];
    ref_updated += static_cast<long double>(w[i]) * v;
  }
  const double got = dot(a, b);
  EXPECT_NEAR(got, static_cast<double>(ref), 1e-9 * std::abs(static_cast<double>(ref)) + 1e-9);
  EXPECT_EQ(dot(a, b), got);  // the same bits again
  EXPECT_EQ(max_abs(b), static_cast<double>(ref_max));
  std::vector<double> v = a;
  const double d = add_scaled_dot(v, 0.25, b, w);
  EXPECT_NEAR(d, static_cast<double>(ref_updated), 1e-9 * std::abs(static_cast<double>(ref_updated)) + 1e-9);
  for (std::size_t i = 0; i < n; i += 9973) EXPECT_EQ(v[i], a[i] + 0.25 * b[i]) << i;
  // one thread: the sequential loop; the value differs from the threaded one only in rounding
  const int threads = num_threads();
  set_num_threads(1);
  const double one = dot(a, b);
  set_num_threads(threads);
  EXPECT_NEAR(one, got, 1e-9 * std::abs(got) + 1e-9);
}

}  // namespace
}  // namespace symgrad
