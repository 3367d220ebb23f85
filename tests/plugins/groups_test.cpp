// Per-parameter-group settings and learning-rate schedules on the built-in sgd plugin: no
// weight decay and a larger rate for biases, then a schedule that halves both rates, all without
// recompiling the step.

#include <gtest/gtest.h>

#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"
#include "symgrad/train/lr_schedule.hpp"

namespace symgrad {
namespace {

TEST(ParamGroups, BiasesWithoutWeightDecayAndTheirOwnRate) {
  Graph g;
  auto w = g.variable("dense/W", {DType::f64, Shape{2}});
  auto b = g.variable("dense/b", {DType::f64, Shape{2}});
  auto loss = 0.5 * sum(square(w)) + 0.5 * sum(square(b));  // gradients w and b
  VariableStore store;
  store.set("dense/W", Tensor::from(DType::f64, Shape{2}, {1, 2}));
  store.set("dense/b", Tensor::from(DType::f64, Shape{2}, {1, -1}));
  const OptimizerStep step =
      build_optimizer_step("sgd", {{"lr", 0.1}, {"weight_decay", 0.5}}, {{"*/b", {{"weight_decay", 0.0}, {"lr", 0.2}}}},
                           g, {w, b}, gradients(loss, {w, b}), store);
  ASSERT_EQ(step.learning_rates.size(), 2u);
  EXPECT_EQ(step.learning_rates[0], (std::pair<std::string, double>{"optimizer/lr", 0.1}));
  EXPECT_EQ(step.learning_rates[1], (std::pair<std::string, double>{"optimizer/lr/0", 0.2}));
  CompileOptions o;
  o.updates = step.updates;
  Plan plan = compile(g, {loss}, o);
  auto schedule = make_lr_schedule("step", {{"step_size", std::int64_t{1}}, {"gamma", 0.5}});

  // step 1: W = W - 0.1 (W + 0.5 W) = 0.85 W;  b = b - 0.2 b = 0.8 b
  apply_lr_schedule(store, step, *schedule, 0);
  plan.run({}, &store);
  EXPECT_EQ(store.get("dense/W").to_vector(), (std::vector<double>{0.85, 1.7}));
  EXPECT_EQ(store.get("dense/b").to_vector(), (std::vector<double>{0.8, -0.8}));
  // step 2, both rates halved: W = W (1 - 0.05 * 1.5) = 0.925 W;  b = b (1 - 0.1) = 0.9 b
  apply_lr_schedule(store, step, *schedule, 1);
  EXPECT_EQ(store.get("optimizer/lr").get(0), 0.05);
  plan.run({}, &store);
  EXPECT_NEAR(store.get("dense/W").get(1), 1.7 * 0.925, 1e-15);
  EXPECT_NEAR(store.get("dense/b").get(0), 0.72, 1e-15);
}

TEST(ParamGroups, PatternsAreGlobs) {
  EXPECT_TRUE(name_matches("*/b", "dense1/b"));
  EXPECT_FALSE(name_matches("*/b", "dense1/W"));
  EXPECT_TRUE(name_matches("dense?/*", "dense2/W"));
  EXPECT_FALSE(name_matches("dense?/*", "dense10/W"));
  EXPECT_TRUE(name_matches("*", "anything"));
}

}  // namespace
}  // namespace symgrad
