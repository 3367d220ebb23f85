// symgrad landscape's plane direction (apps/symgrad/landscape.hpp): filter-normalized as Li et al.
// describe, zero on biases, orthogonal to the line and of its length.
#include <cmath>

#include <gtest/gtest.h>

#include "landscape.hpp"
#include "symgrad/plugin/vectors.hpp"

namespace symgrad::cli {
namespace {

// A dense W [2, 3] (filters are its columns), its bias [3], a conv W [2, 1, 2, 2] (filters along
// the first axis) and its bias [1, 2, 1, 1].
const std::vector<Trainer::Parameter> kParams = {{"d/W", Shape{2, 3}, true},
                                                 {"d/b", Shape{3}, false},
                                                 {"c/W", Shape{2, 1, 2, 2}, true},
                                                 {"c/b", Shape{1, 2, 1, 1}, false}};

std::vector<double> trained() {
  return {1, 0, 2,  // d/W row 0: columns (1, 3), (0, 4), (2, 0): norms sqrt(10), 4, 2
          3, 4, 0,
          5, 5, 5,  // d/b
          1, 1, 1, 1,  // c/W filter 0: norm 2
          0, 0, 3, 4,  // filter 1: norm 5
          7, 7};  // c/b
}

double norm_of(const std::vector<double>& v, std::initializer_list<std::size_t> at) {
  double s = 0;
  for (std::size_t i : at) s += v[i] * v[i];
  return std::sqrt(s);
}

TEST(Landscape, DirectionsAreFilterNormalizedAndZeroOnBiases) {
  // u only on the biases: d is orthogonal to it already, and only its common scale changes
  std::vector<double> u(trained().size(), 0.0);
  u[6] = 1, u[18] = 2;
  const std::vector<double> d = filter_normalized(kParams, trained(), u, 7);
  for (std::size_t i : {6u, 7u, 8u, 17u, 18u}) EXPECT_EQ(d[i], 0.0) << i;
  // every filter's norm is the same multiple of the trained filter's
  const double c = norm_of(d, {0, 3}) / std::sqrt(10.0);
  EXPECT_NEAR(norm_of(d, {1, 4}) / 4, c, 1e-12);
  EXPECT_NEAR(norm_of(d, {2, 5}) / 2, c, 1e-12);
  EXPECT_NEAR(norm_of(d, {9, 10, 11, 12}) / 2, c, 1e-12);
  EXPECT_NEAR(norm_of(d, {13, 14, 15, 16}) / 5, c, 1e-12);
  EXPECT_NEAR(dot(d, d), dot(u, u), 1e-12);  // of u's length
}

TEST(Landscape, DirectionsAreOrthogonalToTheLine) {
  std::vector<double> u = trained();
  for (double& e : u) e = std::sin(3 * e + 1);
  const std::vector<double> d = filter_normalized(kParams, trained(), u, 8);
  EXPECT_NEAR(dot(d, u), 0.0, 1e-12);
  EXPECT_NEAR(dot(d, d), dot(u, u), 1e-12);
  EXPECT_NE(filter_normalized(kParams, trained(), u, 9), d);  // the seed draws another
}

}  // namespace
}  // namespace symgrad::cli
