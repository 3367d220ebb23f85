// The initializer plugins through the real loader: their scales against the formulas, values
// that depend on the seed and the parameter's name only, and zeros.

#include <cmath>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "symgrad/core/random.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"

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

TEST(Initializers, XavierHeLecunConstantByTheirFormulas) {
  EXPECT_NEAR(mean_std(make("xavier_normal", {}, "w", 100, 300)).second, std::sqrt(2.0 / 400), 0.02 * std::sqrt(2.0 / 400));
  EXPECT_EQ(make("xavier_uniform", {}, "w", 30, 20).to_vector(), make("glorot", {}, "w", 30, 20).to_vector());
  EXPECT_NEAR(mean_std(make("he_normal", {{"mode", std::string("fan_out")}}, "w", 100, 400)).second, std::sqrt(2.0 / 400),
              0.02 * std::sqrt(2.0 / 400));
  const Tensor u = make("he_uniform", {}, "w", 200, 100);
  const double a = std::sqrt(6.0 / 200);
  for (std::int64_t i = 0; i < u.numel(); ++i) ASSERT_LE(std::abs(u.get(i)), a);
  EXPECT_NEAR(mean_std(u).second, std::sqrt(2.0 / 200), 0.02 * std::sqrt(2.0 / 200));  // the same variance as he
  EXPECT_NEAR(mean_std(make("lecun", {}, "w", 250, 100)).second, std::sqrt(1.0 / 250), 0.02 * std::sqrt(1.0 / 250));
  EXPECT_EQ(make("constant", {{"value", 0.25}}, "w", 2, 2).to_vector(), (std::vector<double>{0.25, 0.25, 0.25, 0.25}));
}

// W^T W = gain^2 I for a tall W [in, units], W W^T for a wide one.
TEST(Initializers, OrthogonalHasOrthonormalColumnsOrRows) {
  for (const auto& [in, units] : std::vector<std::pair<std::int64_t, std::int64_t>>{{8, 5}, {3, 7}}) {
    const Tensor w = make("orthogonal", {{"gain", 2.0}}, "w", in, units);
    const std::int64_t n = std::min(in, units);
    for (std::int64_t i = 0; i < n; ++i) {
      for (std::int64_t j = 0; j < n; ++j) {
        double d = 0;
        for (std::int64_t k = 0; k < std::max(in, units); ++k) {
          d += in >= units ? w.get(k * units + i) * w.get(k * units + j) : w.get(i * units + k) * w.get(j * units + k);
        }
        EXPECT_NEAR(d, i == j ? 4.0 : 0.0, 1e-12) << in << "x" << units << " (" << i << ", " << j << ")";
      }
    }
  }
}

// Ten ReLU layers of 100 units on unit-variance inputs: He's scale keeps the mean square of the
// activations about constant from the first layer to the last; a fixed N(0, 0.01^2) divides it by
// about 100 x 0.01^2 / 2 = 0.005 per layer (1e-21 after nine more).
TEST(Initializers, HeKeepsActivationVarianceThroughTenReluLayers) {
  auto ratio = [](const std::string& init, const Settings& s) {
    Graph g;
    Value h = g.input("x", {DType::f64, Shape{Shape::kOpen, 100}});
    VariableStore store;
    auto initializer = PluginRegistry::global().make_initializer(init, s);
    std::vector<Value> squares;
    for (int l = 1; l <= 10; ++l) {
      const std::string name = "dense" + std::to_string(l) + "/W";
      const TensorType t{DType::f64, Shape{100, 100}};
      store.set(name, initializer->initial_value(InitRequest{name, t, 100, 100, 7}));
      h = relu(matmul(h, g.variable(name, t)));
      squares.push_back(mean(square(h)));
    }
    Tensor x(DType::f64, Shape{500, 100});
    Random rng(3);
    for (std::int64_t i = 0; i < x.numel(); ++i) x.set(i, rng.normal());
    const auto out = compile(g, squares).run({{"x", x}}, &store);
    return out[9].get(0) / out[0].get(0);
  };
  const double he = ratio("he", {}), small = ratio("normal", {{"std", 0.01}});
  ::testing::Test::RecordProperty("he_ratio", fmt::format("{:.3g}", he));
  ::testing::Test::RecordProperty("normal_0.01_ratio", fmt::format("{:.3g}", small));
  EXPECT_GT(he, 0.25) << "mean square, layer 10 / layer 1: He " << he << ", N(0, 0.01^2) " << small;
  EXPECT_LT(he, 4.0) << "mean square, layer 10 / layer 1: He " << he << ", N(0, 0.01^2) " << small;
  EXPECT_LT(small, 1e-15) << "mean square, layer 10 / layer 1: He " << he << ", N(0, 0.01^2) " << small;
}

}  // namespace
}  // namespace symgrad
