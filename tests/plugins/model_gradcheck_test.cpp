// The whole model's gradient check (Trainer::check_gradients, symgrad gradcheck EXPERIMENT.toml):
// it passes on a model with dropout (the masks held fixed across the evaluations), and it fails,
// naming the parameter and the worst element, when a penalty's op has a wrong pullback (the
// fixture plugin wrong_gradient, through the real loader).

#include <gtest/gtest.h>

#include "symgrad/data/synthetic.hpp"
#include "symgrad/ops/ops.hpp"
#include "symgrad/plugin/regularizer.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {
namespace {

TrainerOptions reference() {
  TrainerOptions o;
  o.backend = "reference";
  o.dtype = DType::f64;
  o.optimizer = "sgd";
  return o;
}

TEST(ModelGradcheck, PassesWithDropoutMasksHeldFixed) {
  Sequential model;
  model.dense(8, "tanh").dropout(0.5).dense(2);
  Trainer trainer(model, {DType::f64, Shape{2}}, 2, reference());
  const auto checks = trainer.check_gradients(make_moons(6, 0.1, 1), {}, 0);  // every element
  ASSERT_EQ(checks.size(), 4u);
  EXPECT_EQ(checks[0].report.name, "dense1/W");
  EXPECT_EQ(checks[0].checked, 16);
  for (const auto& c : checks) EXPECT_TRUE(c.report.passed) << c.report.name << ": " << c.report.max_abs_error;
}

// sum(wrong_gradient(W)) of the first layer's weights, whose pullback forgets a factor 2
class WrongPenalty final : public Regularizer {
 public:
  Value penalty(const PenaltyContext& ctx) override {
    return sum(ctx.graph->apply("wrong_gradient", {ctx.params.front().value}, {}).front());
  }
};

TEST(ModelGradcheck, AWrongPullbackInAPenaltyFails) {
  PluginRegistry::global().load(std::string(SYMGRAD_TEST_FIXTURES) + "/symgrad-wrong_gradient.so");
  Sequential model;
  model.dense(4, "tanh").dense(2);
  Trainer trainer(model, {DType::f64, Shape{2}}, 2, reference());
  WrongPenalty wrong;
  trainer.add(wrong, "wrong");
  const auto checks = trainer.check_gradients(make_moons(6, 0.1, 1), {}, 3);
  ASSERT_EQ(checks.size(), 4u);
  EXPECT_FALSE(checks[0].report.passed);  // dense1/W carries the penalty
  EXPECT_EQ(checks[0].checked, 3);
  EXPECT_GE(checks[0].report.worst_index, 0);
  EXPECT_GT(std::abs(checks[0].report.analytic - checks[0].report.numeric), 1e-3);
  for (std::size_t i = 1; i < checks.size(); ++i) EXPECT_TRUE(checks[i].report.passed) << checks[i].report.name;
}

}  // namespace
}  // namespace symgrad
