// The loss plugins (plugins/losses/), through the real loader: values derived by hand from torch's
// documented formulas, numerically stable at large logits, gradient-checked in double precision,
// and their settings checked.
#include <cmath>

#include <gtest/gtest.h>

#include "symgrad/autodiff/gradcheck.hpp"
#include "symgrad/autodiff/gradients.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/ops/ops.hpp"
#include "symgrad/runtime/plan.hpp"
#include "symgrad/plugin/registry.hpp"

namespace symgrad {
namespace {

std::unique_ptr<Loss> make_loss(const std::string& name, const Settings& settings = {}) {
  return PluginRegistry::global().make_loss(name, settings);
}

// The per-example values of `loss` on an output and a target of shape [N, 2] (f64).
std::vector<double> per_example(const std::string& loss, const Settings& settings, const std::vector<double>& output,
                                const std::vector<double>& target) {
  Graph g;
  const auto n = static_cast<std::int64_t>(output.size() / 2);
  Value p = g.input("p", {DType::f64, Shape{Shape::kOpen, 2}});
  Value t = g.input("t", {DType::f64, Shape{Shape::kOpen, 2}});
  Plan plan = compile(g, {make_loss(loss, settings)->per_example(p, t)});
  const Tensor& r = plan.run({{"p", Tensor::from(DType::f64, Shape{n, 2}, output)},
                              {"t", Tensor::from(DType::f64, Shape{n, 2}, target)}})[0];
  std::vector<double> v;
  for (std::int64_t i = 0; i < n; ++i) v.push_back(r.get(i));
  return v;
}

TEST(Losses, MatchTorchFormulasByHand) {
  // mse: mean over the example's elements of (p - t)^2: ((1)^2 + (2)^2) / 2 = 2.5
  EXPECT_DOUBLE_EQ(per_example("mse", {}, {1, 2}, {0, 0})[0], 2.5);
  // mae: (|1| + |-3|) / 2 = 2
  EXPECT_DOUBLE_EQ(per_example("mae", {}, {1, -3}, {0, 0})[0], 2.0);
  // huber, delta 1: d = 0.5 -> 0.125 (quadratic); d = 2 -> 1 * (2 - 0.5) = 1.5 (linear); mean 0.8125
  EXPECT_DOUBLE_EQ(per_example("huber", {}, {0.5, 2}, {0, 0})[0], 0.8125);
  // delta 3: both quadratic: (0.125 + 2) / 2
  EXPECT_DOUBLE_EQ(per_example("huber", {{"delta", 3.0}}, {0.5, 2}, {0, 0})[0], 1.0625);
  // binary cross-entropy from logits: z = 0 -> log 2 whatever y; z = 2, y = 1 -> log(1 + e^-2)
  EXPECT_NEAR(per_example("binary_cross_entropy", {}, {0, 2}, {1, 1})[0], (std::log(2.0) + std::log1p(std::exp(-2.0))) / 2,
              1e-15);
}

TEST(Losses, BinaryCrossEntropyIsStableAtLargeLogits) {
  // z = +-1000: the right label costs ~0, the wrong one |z|; no inf, no NaN
  const auto v = per_example("binary_cross_entropy", {}, {1000, -1000, 1000, -1000}, {1, 0, 0, 1});
  EXPECT_NEAR(v[0], 0.0, 1e-300);
  EXPECT_DOUBLE_EQ(v[1], 1000.0);
}

TEST(Losses, GradientsPassTheCheck) {
  for (const char* name : {"mse", "mae", "huber", "binary_cross_entropy"}) {
    Graph g;
    Value p = g.input("p", {DType::f64, Shape{3, 2}});
    Value t = g.input("t", {DType::f64, Shape{3, 2}});
    Value loss = mean(make_loss(name)->per_example(p, t));
    // away from the kinks (|d| = 0 for mae, |d| = delta for huber)
    Feeds feeds = {{"p", Tensor::from(DType::f64, Shape{3, 2}, {0.3, -1.7, 2.5, 0.1, -0.4, 1.2})},
                   {"t", Tensor::from(DType::f64, Shape{3, 2}, {0.9, 0.2, 0.0, 0.6, 0.5, 0.05})}};
    const GradcheckResult r = gradcheck({loss}, {p, t}, feeds);
    EXPECT_TRUE(r.passed) << name << "\n" << r.to_string();
  }
  Graph g;
  Value z = g.input("z", {DType::f64, Shape{3, 4}});
  Value y = g.input("y", {DType::i32, Shape{3}});
  Value loss = mean(make_loss("softmax_cross_entropy")->per_example(z, y));
  Feeds feeds = {{"z", Tensor::from(DType::f64, Shape{3, 4}, {0.3, -1.7, 2.5, 0.1, -0.4, 1.2, 0.7, 0.0, 1.0, 2.0, -3.0, 0.5})},
                 {"y", Tensor::from(DType::i32, Shape{3}, {2, 0, 3})}};
  const GradcheckResult r = gradcheck({loss}, {z}, feeds);
  EXPECT_TRUE(r.passed) << r.to_string();
}

// At z = 0 exactly (a model started from zeros) the gradient of binary cross-entropy is
// sigmoid(0) - y = 1/2 - y; a form built of relu(z) and |z| gives their kinks' subgradients, -y.
TEST(Losses, TheGradientIsRightAtZero) {
  Graph g;
  Value z = g.input("z", {DType::f64, Shape{2, 1}});
  Value y = g.input("y", {DType::f64, Shape{2, 1}});
  Value loss = sum(make_loss("binary_cross_entropy")->per_example(z, y));
  Plan plan = compile(g, {gradients(loss, {z})[0]});
  const Tensor& d = plan.run({{"z", Tensor(DType::f64, Shape{2, 1})}, {"y", Tensor::from(DType::f64, Shape{2, 1}, {1, 0})}})[0];
  EXPECT_DOUBLE_EQ(d.get(0), -0.5);
  EXPECT_DOUBLE_EQ(d.get(1), 0.5);
  // and every loss passes the check `symgrad plugins check` runs (points away from kinks)
  for (const char* name : {"softmax_cross_entropy", "binary_cross_entropy", "mse", "mae", "huber"}) {
    const auto r = gradcheck_loss(*make_loss(name));
    EXPECT_TRUE(r.passed) << name << "\n" << r.to_string();
  }
}

TEST(Losses, SettingsAndNamesAreChecked) {
  EXPECT_THROW(make_loss("huber", {{"delta", -1.0}}), UsageError);
  EXPECT_THROW(make_loss("mse", {{"delta", 1.0}}), UsageError);
  try {
    make_loss("hubber");
    FAIL() << "an unknown loss was made";
  } catch (const UsageError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("unknown loss 'hubber' (did you mean 'huber'?); the losses available: "), std::string::npos) << what;
    EXPECT_NE(what.find("binary_cross_entropy, huber, mae, mse, softmax_cross_entropy"), std::string::npos) << what;
  }
  // a regression loss refuses targets of another shape, naming both
  Graph g;
  Value p = g.input("p", {DType::f64, Shape{Shape::kOpen, 2}});
  Value t = g.input("t", {DType::f64, Shape{Shape::kOpen, 3}});
  EXPECT_THROW(make_loss("mse")->per_example(p, t), ShapeError);
}

}  // namespace
}  // namespace symgrad
