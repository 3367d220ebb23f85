#include "symgrad/data/synthetic.hpp"

#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/random.hpp"

namespace symgrad {

namespace {

constexpr double kPi = std::numbers::pi;

// n points, point(i, rng) -> (x, y, label); noise added to both coordinates.
template <class F>
Dataset make(const std::string& name, std::int64_t n, int classes, double noise, std::uint64_t seed, F point) {
  if (n < 1) throw UsageError(fmt::format("{}: the number of points must be >= 1, got {}", name, n));
  if (!(noise >= 0)) throw UsageError(fmt::format("{}: noise must be >= 0, got {}", name, noise));
  Random rng(seed);
  Dataset d{name, Tensor(DType::f32, Shape{n, 2}), Tensor(DType::i32, Shape{n}), classes, {}};
  float* x = d.features.data<float>();
  std::int32_t* y = d.labels.data<std::int32_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    auto [a, b, label] = point(i, rng);
    x[2 * i] = static_cast<float>(a + noise * rng.normal());
    x[2 * i + 1] = static_cast<float>(b + noise * rng.normal());
    y[i] = label;
  }
  return d;
}

struct Point {
  double x, y;
  std::int32_t label;
};

}  // namespace

Dataset make_moons(std::int64_t n, double noise, std::uint64_t seed) {
  return make("moons", n, 2, noise, seed, [](std::int64_t i, Random& rng) {
    const double t = kPi * rng.uniform();
    return i % 2 == 0 ? Point{std::cos(t), std::sin(t), 0} : Point{1 - std::cos(t), 0.5 - std::sin(t), 1};
  });
}

Dataset make_circles(std::int64_t n, double noise, double factor, std::uint64_t seed) {
  if (!(factor > 0 && factor < 1)) throw UsageError(fmt::format("circles: factor must be in (0, 1), got {}", factor));
  return make("circles", n, 2, noise, seed, [factor](std::int64_t i, Random& rng) {
    const double t = 2 * kPi * rng.uniform(), r = i % 2 == 0 ? 1.0 : factor;
    return Point{r * std::cos(t), r * std::sin(t), static_cast<std::int32_t>(i % 2)};
  });
}

Dataset make_spirals(std::int64_t n, int classes, double noise, std::uint64_t seed) {
  if (classes < 2) throw UsageError(fmt::format("spirals: at least 2 classes, got {}", classes));
  return make("spirals", n, classes, noise, seed, [classes](std::int64_t i, Random& rng) {
    const auto c = static_cast<std::int32_t>(i % classes);
    const double r = rng.uniform(0.05, 1.0);                                     // radius grows along the arm
    const double t = 4.0 * r + 2 * kPi * c / classes;                             // and the angle with it
    return Point{r * std::sin(t), r * std::cos(t), c};
  });
}

Dataset make_blobs(std::int64_t n, int centers, double spread, std::uint64_t seed) {
  if (centers < 1) throw UsageError(fmt::format("blobs: at least 1 center, got {}", centers));
  return make("blobs", n, centers, spread, seed, [centers](std::int64_t i, Random&) {
    const auto c = static_cast<std::int32_t>(i % centers);
    const double a = 2 * kPi * c / centers;
    return Point{3 * std::cos(a), 3 * std::sin(a), c};
  });
}

Dataset make_xor(std::int64_t n, double noise, std::uint64_t seed) {
  return make("xor", n, 2, noise, seed, [](std::int64_t, Random& rng) {
    const double a = rng.uniform(-1, 1), b = rng.uniform(-1, 1);
    return Point{a, b, static_cast<std::int32_t>(a * b < 0)};
  });
}

double regression_function(double x0, double x1) { return std::sin(x0) + 0.5 * x1; }

Dataset make_regression(std::int64_t n, double noise, double outliers, std::uint64_t seed) {
  if (n < 1) throw UsageError(fmt::format("regression: the number of points must be >= 1, got {}", n));
  if (!(noise >= 0)) throw UsageError(fmt::format("regression: noise must be >= 0, got {}", noise));
  if (!(outliers >= 0 && outliers <= 1)) throw UsageError(fmt::format("regression: outliers must be in [0, 1], got {}", outliers));
  Random rng(seed);
  Dataset d{"regression", Tensor(DType::f32, Shape{n, 2}), Tensor(), 0, {}};
  Tensor t(DType::f32, Shape{n, 1});
  float* x = d.features.data<float>();
  float* y = t.data<float>();
  for (std::int64_t i = 0; i < n; ++i) {
    const double a = 4 * rng.uniform() - 2, b = 4 * rng.uniform() - 2;
    x[2 * i] = static_cast<float>(a);
    x[2 * i + 1] = static_cast<float>(b);
    const double shift = rng.uniform() < outliers ? 8.0 : 0.0;
    y[i] = static_cast<float>(regression_function(a, b) + noise * rng.normal() + shift);
  }
  d.arrays["y"] = t;
  return d;
}

}  // namespace symgrad
