#pragma once
/// @file
/// The synthetic 2-D data sets of the classic initialization, regularization and optimization
/// exercises. Every point is drawn from a seeded generator (the same seed gives the same set on
/// every platform: no standard-library distributions), with Gaussian noise of standard deviation
/// `noise` added to both coordinates. Features [n, 2] f32, labels [n] i32.

#include <cstdint>

#include "symgrad/data/dataset.hpp"

namespace symgrad {

/// Two interleaving half circles (scikit-learn's make_moons): class 0 on (cos t, sin t), class 1 on
/// (1 - cos t, 1/2 - sin t), t in [0, pi].
Dataset make_moons(std::int64_t n, double noise, std::uint64_t seed);
/// Two concentric circles: class 0 of radius 1, class 1 of radius `factor` (< 1).
Dataset make_circles(std::int64_t n, double noise, double factor, std::uint64_t seed);
/// `classes` interleaved spiral arms (the "planar data" of the course has 2).
Dataset make_spirals(std::int64_t n, int classes, double noise, std::uint64_t seed);
/// `centers` Gaussian blobs of standard deviation `spread` around centers on a circle of radius 3.
Dataset make_blobs(std::int64_t n, int centers, double spread, std::uint64_t seed);
/// XOR: points uniform in [-1, 1]^2, class 1 where x y < 0.
Dataset make_xor(std::int64_t n, double noise, std::uint64_t seed);
/// Regression with outliers: points uniform in [-2, 2]^2 and real targets "y" [n, 1] (an array;
/// no labels) f(x) = sin(x0) + x1 / 2, plus Gaussian noise of standard deviation `noise`, and a
/// fraction `outliers` of the targets shifted by +8. The noise is on the targets, not the points.
Dataset make_regression(std::int64_t n, double noise, double outliers, std::uint64_t seed);
/// The true function of make_regression.
double regression_function(double x0, double x1);

}  // namespace symgrad
