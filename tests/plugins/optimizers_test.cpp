// The adaptive optimizer plugins through the real loader: first steps on f(w) = w^2 / 2
// (gradient g = w) from w = 1, against numbers worked out from torch.optim's documented
// algorithms (PyTorch 1.13); the derivations are in the comments. Later steps were carried out
// with the same formulas in double precision (a few lines of Python, not this code).

#include <cmath>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include <unistd.h>

#include "optimizer_runs.hpp"
#include "symgrad/io/variables_file.hpp"

namespace symgrad {
namespace {

using testing::expect_steps;
using testing::run_on_parabola;

// Adagrad, lr 0.1, eps 1e-10:  s1 = 1, w1 = 1 - 0.1 * 1 / (1 + 1e-10) = 0.90000000001;
// s2 = 1 + 0.81 = 1.81, w2 = 0.9 - 0.1 * 0.9 / sqrt(1.81) = 0.83310352685...
TEST(AdagradPlugin, FirstSteps) {
  expect_steps(run_on_parabola("adagrad", {{"lr", 0.1}}, 3), {0.90000000001, 0.8331035268523168, 0.7804561813655163});
}

// With lr_decay 0.5 and initial_accumulator_value 1: s1 = 2, w1 = 1 - 0.1 / sqrt(2) = 0.92928932...;
// step 2 uses lr 0.1 / (1 + 0.5).
TEST(AdagradPlugin, LrDecayAndInitialAccumulator) {
  expect_steps(run_on_parabola("adagrad", {{"lr", 0.1}, {"lr_decay", 0.5}, {"initial_accumulator_value", 1.0}}, 3),
               {0.9292893218863453, 0.8926788665514365, 0.8693497781475497});
}

// RMSprop, lr 0.01, alpha 0.99, eps 1e-8:  s1 = 0.01 * 1 = 0.01, w1 = 1 - 0.01 * 1 / (0.1 + 1e-8)
// = 0.90000001;  s2 = 0.0099 + 0.01 * 0.81 = 0.018, w2 = 0.9 - 0.01 * 0.9 / sqrt(0.018) = 0.83291797...
TEST(RmspropPlugin, FirstSteps) {
  expect_steps(run_on_parabola("rmsprop", {}, 3), {0.9000000099999991, 0.8329179752650593, 0.7799822819823541});
}

// Centered, with momentum 0.5, alpha 0.9:  s1 = 0.1, gbar1 = 0.1, var = 0.1 - 0.01 = 0.09,
// b1 = 1 / (0.3 + 1e-8), w1 = 1 - 0.01 * b1 = 0.96666666777...
TEST(RmspropPlugin, CenteredWithMomentum) {
  expect_steps(run_on_parabola("rmsprop", {{"alpha", 0.9}, {"momentum", 0.5}, {"centered", true}}, 3),
               {0.9666666677777778, 0.9249234781776142, 0.8824183675806433});
}

// Adam, lr 0.1:  m1 = 0.1, v1 = 0.001, m1 / (1 - 0.9) = 1, v1 / (1 - 0.999) = 1:
// w1 = 1 - 0.1 * 1 / (1 + 1e-8) = 0.900000001 (the first step is lr in the gradient's sign);
// m2 = 0.09 + 0.09 = 0.18, v2 = 0.000999 + 0.00081 = 0.001809, bias-corrected 0.18 / 0.19 and
// 0.001809 / 0.001999: w2 = 0.9 - 0.1 * 0.947368... / 0.951290... = 0.80041222...
TEST(AdamPlugin, FirstSteps) {
  expect_steps(run_on_parabola("adam", {{"lr", 0.1}}, 3), {0.900000001, 0.8004122297123382, 0.701586274504415});
}

// AMSGrad keeps the largest v: with beta2 = 0.5 the second moments are 0.5, 0.655, 0.5237... (bias-
// corrected divisions aside): step 3 divides by sqrt(0.655 ...) instead of sqrt(0.5237...).
TEST(AdamPlugin, AmsgradKeepsTheLargestSecondMoment) {
  expect_steps(run_on_parabola("adam", {{"lr", 0.1}, {"beta2", 0.5}, {"amsgrad", true}}, 3),
               {0.900000001, 0.7986254645971879, 0.6954722654500891});
  expect_steps(run_on_parabola("adam", {{"lr", 0.1}, {"beta2", 0.5}}, 3),
               {0.900000001, 0.7986254645971879, 0.6947884398971987});
}

// Coupled weight decay 0.5 adds 0.5 w to g: g1 = 1.5 w1, which Adam's first step cannot see
// (w1 = 1 - 0.1 sign(g) / (1 + eps / 1.5) = 0.9000000006666...).
TEST(AdamPlugin, CoupledWeightDecay) {
  expect_steps(run_on_parabola("adam", {{"lr", 0.1}, {"weight_decay", 0.5}}, 3),
               {0.9000000006666666, 0.8004122290319746, 0.7015862734654918});
}

// AdamW decays first: w = 1 * (1 - 0.1 * 0.5) = 0.95, then the Adam step on g = 1 (the gradient
// at the undecayed w): w1 = 0.95 - 0.1 / (1 + 1e-8) = 0.850000001.
// NAdam as torch.optim.NAdam (1.13) documents it, written out here in doubles on f(w) = w^2 / 2
// (g = w): mu_t = b1 (1 - 0.96^(t psi) / 2), the running product of the mu's, Adam's moments, and
// two addcdiv steps. The plugin computes 0.96^x as exp(x log 0.96): equal within a few ulps.
TEST(NadamPlugin, FollowsTorchsAlgorithm) {
  const double lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1, psi = 4e-3;
  std::vector<double> want;
  double w = 1, m = 0, v = 0, product = 1;
  for (int t = 1; t <= 20; ++t) {
    const double g = w + wd * w;
    const double mu = b1 * (1 - 0.5 * std::pow(0.96, t * psi)), mu_next = b1 * (1 - 0.5 * std::pow(0.96, (t + 1) * psi));
    product *= mu;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const double denom = std::sqrt(v / (1 - std::pow(b2, t))) + eps;
    w = w - lr * (1 - mu) / (1 - product) * (g / denom);
    w = w - lr * mu_next / (1 - product * mu_next) * (m / denom);
    want.push_back(w);
  }
  expect_steps(run_on_parabola("nadam", {{"lr", lr}, {"weight_decay", wd}}, 20), want, 1e-14);
}

// The product of the mu's is one scalar of the optimizer (not a slot per element), saved with the
// store; a parameter group keeps its own.
TEST(NadamPlugin, KeepsOneScalarProductPerGroup) {
  Graph g;
  Value a = g.variable("a/W", {DType::f64, Shape{3}}), b = g.variable("b/W", {DType::f64, Shape{2}});
  Value loss = 0.5 * (sum(square(a)) + sum(square(b)));
  VariableStore store;
  store.set("a/W", Tensor::from(DType::f64, Shape{3}, {1, 2, 3}));
  store.set("b/W", Tensor::from(DType::f64, Shape{2}, {1, -1}));
  CompileOptions o;
  o.updates = build_optimizer_step("nadam", {}, {{"b/*", {{"beta1", 0.5}}}}, g, {a, b}, gradients(loss, {a, b}), store)
                  .updates;
  Plan plan = compile(g, {loss}, o);
  for (int i = 0; i < 3; ++i) plan.run({}, &store);
  double main = 1, group = 1;
  for (int t = 1; t <= 3; ++t) {
    main *= 0.9 * (1 - 0.5 * std::pow(0.96, t * 4e-3));
    group *= 0.5 * (1 - 0.5 * std::pow(0.96, t * 4e-3));
  }
  EXPECT_NEAR(store.get("optimizer/nadam/mu_product").get(0), main, 1e-15);
  EXPECT_NEAR(store.get("optimizer/nadam/group0/mu_product").get(0), group, 1e-15);
  EXPECT_EQ(store.get("optimizer/nadam/mu_product").shape(), Shape{});
  EXPECT_FALSE(store.has("a/W/nadam/mu_product"));
}

TEST(AdamwPlugin, DecoupledWeightDecay) {
  expect_steps(run_on_parabola("adamw", {{"lr", 0.1}, {"weight_decay", 0.5}}, 3),
               {0.850000001, 0.7082484443656524, 0.574973932253246});
}

TEST(AdamwPlugin, DefaultsFollowTorch) {
  const ComponentInfo& c = PluginRegistry::global().get(ComponentKind::optimizer, "adamw");
  EXPECT_EQ(std::get<double>(c.schema.find("weight_decay")->default_value), 1e-2);
  EXPECT_EQ(std::get<double>(c.schema.find("lr")->default_value), 1e-3);
  EXPECT_EQ(std::get<double>(c.schema.find("eps")->default_value), 1e-8);
}

// Every optimizer refuses a negative lr, and betas, alphas or eps outside their ranges, with a
// message that gives the allowed range.
TEST(OptimizerPlugins, RefuseSettingsOutsideTheirRangesSayingWhy) {
  auto& r = PluginRegistry::global();
  auto message = [&](const std::string& name, const Settings& s) -> std::string {
    try {
      r.make_update_rule(name, s);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  };
  for (const char* name : {"sgd", "adagrad", "rmsprop", "adam", "adamw"}) {
    EXPECT_NE(message(name, {{"lr", -0.1}}).find("is out of range: allowed > 0"), std::string::npos) << name;
  }
  EXPECT_NE(message("adam", {{"beta1", 1.0}}).find("'beta1' = 1 is out of range: allowed [0, 1)"), std::string::npos);
  EXPECT_NE(message("adamw", {{"beta2", -0.1}}).find("allowed [0, 1)"), std::string::npos);
  EXPECT_NE(message("adam", {{"eps", 0.0}}).find("'eps' = 0 is out of range: allowed > 0"), std::string::npos);
  EXPECT_NE(message("rmsprop", {{"alpha", 1.5}}).find("allowed [0, 1)"), std::string::npos);
  EXPECT_NE(message("adagrad", {{"eps", -1.0}}).find("allowed > 0"), std::string::npos);
}

}  // namespace
}  // namespace symgrad

namespace symgrad {
namespace {

// Adam's state (moments, step count, learning rate) is keyed by name: three steps, a save and a
// load into a new store and a new plan, two more steps give bitwise the run of five.
TEST(OptimizerState, SavedLoadedAndContinuedIsBitwiseTheSame) {
  auto build = [](VariableStore& store, std::unique_ptr<Graph>& g) {
    g = std::make_unique<Graph>();
    auto w = g->variable("layer/W", {DType::f32, Shape{3}});
    auto loss = sum(square(w * w - 0.5f));
    CompileOptions o;
    o.updates = build_optimizer_step("adam", {{"lr", 0.05}, {"amsgrad", true}}, {}, *g, {w}, gradients(loss, {w}), store).updates;
    return compile(*g, {loss}, o);
  };
  auto start = [] {
    VariableStore s;
    s.set("layer/W", Tensor::from(DType::f32, Shape{3}, {0.9, -0.3, 0.2}));
    return s;
  };
  VariableStore straight = start();
  std::unique_ptr<Graph> g1;
  Plan p1 = build(straight, g1);
  for (int i = 0; i < 5; ++i) p1.run({}, &straight);

  VariableStore first = start();
  std::unique_ptr<Graph> g2;
  Plan p2 = build(first, g2);
  for (int i = 0; i < 3; ++i) p2.run({}, &first);
  const std::string file = std::filesystem::temp_directory_path() / ("symgrad-adam-state-" + std::to_string(::getpid()));
  save_variables(first, file);
  VariableStore resumed = load_variables(file);
  std::filesystem::remove(file);
  EXPECT_TRUE(resumed.has("layer/W/adam/exp_avg"));
  EXPECT_TRUE(resumed.has("layer/W/adam/max_exp_avg_sq"));
  std::unique_ptr<Graph> g3;
  Plan p3 = build(resumed, g3);  // slots found in the store keep their values
  for (int i = 0; i < 2; ++i) p3.run({}, &resumed);
  ASSERT_EQ(straight.names(), resumed.names());
  for (const auto& n : straight.names()) {
    EXPECT_EQ(std::memcmp(straight.get(n).raw(), resumed.get(n).raw(), straight.get(n).nbytes()), 0) << n;
  }
}

}  // namespace
}  // namespace symgrad
