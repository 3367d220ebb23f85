// The built-in sgd plugin, loaded through the real loader: its first steps on f(w) = w^2 / 2
// (gradient w) from w = 1 with lr = 0.1, against numbers worked out by hand from
// torch.optim.SGD's documented algorithm:
//   g = grad + wd w;  b_1 = g, b_t = mu b_{t-1} + (1 - dampening) g;  g = g + mu b_t (Nesterov)
//   or g = b_t (momentum);  w = w - lr g.

#include <gtest/gtest.h>

#include "optimizer_runs.hpp"

namespace symgrad {
namespace {

std::vector<double> run_sgd(Settings settings, int steps, VariableStore* keep = nullptr) {
  settings.try_emplace("lr", 0.1);
  return testing::run_on_parabola("sgd", settings, steps, keep);
}
using testing::expect_steps;

TEST(SgdPlugin, Plain) {
  // w1 = 1 - 0.1 * 1 = 0.9;  w2 = 0.9 - 0.09 = 0.81
  expect_steps(run_sgd({}, 2), {0.9, 0.81});
}

TEST(SgdPlugin, Momentum) {
  // b1 = 1, w1 = 0.9;  b2 = 0.9 * 1 + 0.9 = 1.8, w2 = 0.72;  b3 = 0.9 * 1.8 + 0.72 = 2.34, w3 = 0.486
  expect_steps(run_sgd({{"momentum", 0.9}}, 3), {0.9, 0.72, 0.486});
}

TEST(SgdPlugin, DampeningSparesTheFirstStep) {
  // b1 = g = 1 (not 0.5), w1 = 0.9;  b2 = 0.9 * 1 + 0.5 * 0.9 = 1.35, w2 = 0.9 - 0.135 = 0.765
  expect_steps(run_sgd({{"momentum", 0.9}, {"dampening", 0.5}}, 2), {0.9, 0.765});
}

TEST(SgdPlugin, NesterovDiffersFromMomentumAsTheFormulaSays) {
  // b1 = 1, g = 1 + 0.9 * 1 = 1.9, w1 = 0.81;  b2 = 0.9 + 0.81 = 1.71, g = 0.81 + 0.9 * 1.71 = 2.349,
  // w2 = 0.81 - 0.2349 = 0.5751
  expect_steps(run_sgd({{"momentum", 0.9}, {"nesterov", true}}, 2), {0.81, 0.5751});
}

TEST(SgdPlugin, WeightDecayIsAddedToTheGradient) {
  // g = 1.1 w: w1 = 1 - 0.11 = 0.89;  w2 = 0.89 * 0.89 = 0.7921
  expect_steps(run_sgd({{"weight_decay", 0.1}}, 2), {0.89, 0.7921});
}

TEST(SgdPlugin, StateIsNamedByParameterAndContinues) {
  // three steps at once equal two steps, then one more from the saved state
  VariableStore store;
  run_sgd({{"momentum", 0.9}}, 2, &store);
  EXPECT_TRUE(store.has("w/sgd/momentum_buffer"));
  EXPECT_EQ(store.get("optimizer/step").get(0), 2.0);
  EXPECT_NEAR(store.get("w/sgd/momentum_buffer").get(0), 1.8, 1e-12);
  expect_steps(run_sgd({{"momentum", 0.9}}, 1, &store), {0.486});
}

// The course's momentum: v = 0.9 v + 0.1 g from 0, step lr v:  v1 = 0.1, w1 = 1 - 0.01 = 0.99;
// v2 = 0.09 + 0.099 = 0.189, w2 = 0.99 - 0.0189 = 0.9711;  v3 = 0.1701 + 0.09711 = 0.26721,
// w3 = 0.9711 - 0.026721 = 0.944379. Bias-corrected, v1 / (1 - 0.9) = 1: w1 = 0.9; v2 = 0.09 + 0.09
// = 0.18, / 0.19 = 0.947368..., w2 = 0.9 - 0.0947368... = 0.8052631578947...
TEST(SgdPlugin, CourseMomentumIsAnAverageWithOptionalBiasCorrection) {
  expect_steps(run_sgd({{"momentum", 0.9}, {"ewa", true}}, 3), {0.99, 0.9711, 0.944379});
  expect_steps(run_sgd({{"momentum", 0.9}, {"ewa", true}, {"bias_correction", true}}, 2), {0.9, 0.8052631578947369});
  EXPECT_THROW(run_sgd({{"momentum", 0.9}, {"ewa", true}, {"nesterov", true}}, 1), UsageError);
  EXPECT_THROW(run_sgd({{"bias_correction", true}}, 1), UsageError);
}

// The course's name: beta selects the averaged form (v = b v + (1 - b) g: w1 = 1 - 0.1 * 0.1 =
// 0.99, the steps above), not torch's heavy ball with the same number (w1 = 0.9: a first step 10x
// larger); with momentum as well it is refused, in sgd and in momentum (whose own default is 0.9).
TEST(SgdPlugin, TheCoursesBetaIsTheAveragedForm) {
  expect_steps(run_sgd({{"beta", 0.9}}, 3), {0.99, 0.9711, 0.944379});
  expect_steps(testing::run_on_parabola("momentum", {{"lr", 0.1}, {"beta", 0.9}}, 3), {0.99, 0.9711, 0.944379});
  expect_steps(run_sgd({{"beta", 0.9}, {"bias_correction", true}}, 2), {0.9, 0.8052631578947369});
  EXPECT_THROW(run_sgd({{"beta", 0.9}, {"momentum", 0.5}}, 1), UsageError);
  EXPECT_THROW(testing::run_on_parabola("momentum", {{"lr", 0.1}, {"beta", 0.9}, {"momentum", 0.5}}, 1), UsageError);
}

// "momentum" is sgd with momentum 0.9 by default, found by name in the sgd plugin (the registry
// loads every plugin on the path when no plugin has the component's name): the Momentum steps.
TEST(SgdPlugin, MomentumComponentIsSgdWithMomentum) {
  expect_steps(testing::run_on_parabola("momentum", {{"lr", 0.1}}, 3), {0.9, 0.72, 0.486});
  EXPECT_EQ(PluginRegistry::global().get(ComponentKind::optimizer, "momentum").plugin, "sgd");
}

TEST(SgdPlugin, RefusesSettingsOutsideTheirRange) {
  auto& r = PluginRegistry::global();
  EXPECT_THROW(r.make_update_rule("sgd", {{"lr", -0.1}}), UsageError);
  EXPECT_THROW(r.make_update_rule("sgd", {{"momentum", -1.0}}), UsageError);
  try {
    r.make_update_rule("sgd", {{"nesterov", true}, {"momentum", 0.9}, {"dampening", 0.1}});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("nesterov requires momentum > 0 and dampening = 0"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace symgrad
