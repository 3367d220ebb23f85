// The initializer plugins through the real loader: their scales against the formulas, values
// that depend on the seed and the parameter's name only, and zeros.

#include <cmath>

#include <gtest/gtest.h>

#include "symgrad/plugin/registry.hpp"

namespace symgrad {
namespace {

Tensor make(const std::string& init, const Settings& s, const std::string& name, std::int64_t fan_in,
            std::int64_t fan_out, std::uint64_t seed = 1) {
  return PluginRegistry::global().make_initializer(init, s)->initial_value(
      InitRequest{name, {DType::f64, Shape{fan_in, fan_out}}, fan_in, fan_out, seed});
}

std::pair<double, double> mean_std(const Tensor& t) {
  double m = 0, v = 0;
  for (std::int64_t i = 0; i < t.numel(); ++i) m += t.get(i);
  m /= static_cast<double>(t.numel());
  for (std::int64_t i = 0; i < t.numel(); ++i) v += (t.get(i) - m) * (t.get(i) - m);
  return {m, std::sqrt(v / static_cast<double>(t.numel()))};
}

TEST(Initializers, HeHasStdSqrtTwoOverFanIn) {
  const auto [m, s] = mean_std(make("he", {}, "dense1/W", 200, 300));  // 60000 draws
  EXPECT_NEAR(m, 0, 0.01);
  EXPECT_NEAR(s, std::sqrt(2.0 / 200), 0.02 * std::sqrt(2.0 / 200));
}

TEST(Initializers, GlorotIsUniformWithinItsBound) {
  const Tensor t = make("glorot", {}, "dense1/W", 100, 200);
  const double a = std::sqrt(6.0 / 300);
  double lo = 1, hi = -1;
  for (std::int64_t i = 0; i < t.numel(); ++i) lo = std::min(lo, t.get(i)), hi = std::max(hi, t.get(i));
  EXPECT_GE(lo, -a);
  EXPECT_LE(hi, a);
  EXPECT_GT(hi, 0.99 * a);  // 20000 draws reach close to the bound
  EXPECT_NEAR(mean_std(t).second, a / std::sqrt(3.0), 0.02 * a);  // the std of U(-a, a)
}

TEST(Initializers, NormalUniformAndZeros) {
  EXPECT_NEAR(mean_std(make("normal", {{"std", 10.0}}, "w", 100, 100)).second, 10, 0.3);
  EXPECT_NEAR(mean_std(make("uniform", {{"low", 0.0}, {"high", 1.0}}, "w", 100, 100)).first, 0.5, 0.01);
  const Tensor z = make("zeros", {}, "w", 3, 4);
  for (std::int64_t i = 0; i < z.numel(); ++i) EXPECT_EQ(z.get(i), 0.0);
}

TEST(Initializers, ValuesDependOnSeedAndNameOnly) {
  EXPECT_EQ(make("he", {}, "dense1/W", 4, 3).to_vector(), make("he", {}, "dense1/W", 4, 3).to_vector());
  EXPECT_NE(make("he", {}, "dense1/W", 4, 3).to_vector(), make("he", {}, "dense2/W", 4, 3).to_vector());
  EXPECT_NE(make("he", {}, "dense1/W", 4, 3, 1).to_vector(), make("he", {}, "dense1/W", 4, 3, 2).to_vector());
}

}  // namespace
}  // namespace symgrad
