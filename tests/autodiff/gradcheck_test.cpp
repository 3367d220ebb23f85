// The gradient checker itself: it passes correct gradients, catches a gradient that is off by
// 1%, reports the worst element, and works on whole graphs.

#include <gtest/gtest.h>

#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

// exp with a pullback scaled by `factor` (1.01: a deliberately wrong gradient).
const OpDef& scaled_exp(const std::string& name, double factor) {
  if (const OpDef* op = OpRegistry::global().find(name)) return *op;
  OpDef d;
  d.name = name;
  d.doc = "exp with a scaled gradient (test only)";
  d.infer = [](const InferContext& c) { return std::vector<TensorType>{c.inputs[0]}; };
  d.pullback = [factor](const PullbackContext& c) -> std::vector<Grad> {
    return {c.g() * c.y() * factor};
  };
  d.samples = [] {
    SampleInput in;
    in.type = {DType::f64, Shape{2, 3}};
    return std::vector<Sample>{Sample{"m", {in}, {}, true}};
  };
  const OpDef& op = OpRegistry::global().add(std::move(d));
  KernelRegistry::global().add_kernel(name, "reference", *KernelRegistry::global().kernel("exp", "reference"));
  return op;
}

TEST(Gradcheck, PassesACorrectGradient) {
  const OpDef& op = scaled_exp("test_exact_exp", 1.0);
  auto r = gradcheck_op(op, op.samples()[0]);
  EXPECT_TRUE(r.passed) << r.to_string();
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_LT(r.inputs[0].max_rel_error, 1e-7);
}

TEST(Gradcheck, CatchesAGradientOffByOnePercent) {
  const OpDef& op = scaled_exp("test_wrong_exp", 1.01);
  auto r = gradcheck_op(op, op.samples()[0]);
  EXPECT_FALSE(r.passed) << r.to_string();
  EXPECT_NEAR(r.inputs[0].max_rel_error, 0.01 / 1.01, 1e-4);
  EXPECT_GE(r.inputs[0].worst_index, 0);
  EXPECT_NE(r.to_string().find("FAIL"), std::string::npos);
}

TEST(Gradcheck, CatchesAWrongSecondDerivative) {
  // y = e^x with the pullback g * wrong_exp(x): right at first order (wrong_exp computes e^x),
  // but wrong_exp's own gradient is 1% off, so the second derivative is wrong.
  const OpDef& wrong = scaled_exp("test_wrong_exp", 1.01);
  if (!OpRegistry::global().find("test_exp_second_order_off")) {
    OpDef d = wrong;
    d.name = "test_exp_second_order_off";
    d.pullback = [](const PullbackContext& c) -> std::vector<Grad> {
      return {c.g() * c.graph.apply1("test_wrong_exp", {c.x()})};
    };
    OpRegistry::global().add(std::move(d));
    KernelRegistry::global().add_kernel("test_exp_second_order_off", "reference",
                                        *KernelRegistry::global().kernel("exp", "reference"));
  }
  const OpDef& op = OpRegistry::global().get("test_exp_second_order_off");
  EXPECT_TRUE(gradcheck_op(op, op.samples()[0]).passed);
  auto r = gradgradcheck_op(op, op.samples()[0]);
  EXPECT_FALSE(r.passed) << r.to_string();
}

TEST(Gradcheck, ChecksAWholeGraph) {
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{4, 3}});
  auto w1 = g.input("w1", {DType::f64, Shape{3, 5}});
  auto w2 = g.input("w2", {DType::f64, Shape{5, 2}});
  auto y = g.input("y", {DType::i64, Shape{4}});
  auto loss = mean(softmax_cross_entropy(matmul(tanh(matmul(x, w1)), w2), y));
  Feeds feeds;
  Sample s{"mlp", {}, {}, true};
  for (auto shape : {Shape{4, 3}, Shape{3, 5}, Shape{5, 2}}) {
    SampleInput in;
    in.type = {DType::f64, shape};
    s.inputs.push_back(in);
  }
  auto vals = sample_values(s, 7);
  feeds = {{"x", vals[0]}, {"w1", vals[1]}, {"w2", vals[2]},
           {"y", Tensor::from(DType::i64, Shape{4}, {0, 1, 1, 0})}};
  auto r = gradcheck({loss}, {w1, w2, x}, feeds);
  EXPECT_TRUE(r.passed) << r.to_string();
  EXPECT_EQ(r.inputs.size(), 3u);
  EXPECT_EQ(r.inputs[0].name, "w1");
  auto r2 = gradgradcheck({loss}, {w1, w2}, feeds);
  EXPECT_TRUE(r2.passed) << r2.to_string();
}

TEST(Gradcheck, RefusesSinglePrecisionAndNonInputs) {
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{2}});
  EXPECT_THROW(gradcheck({exp(x)}, {x}, {{"x", Tensor(DType::f32, Shape{2})}}), UsageError);
  auto y = g.input("y", {DType::f64, Shape{2}});
  auto e = exp(y);
  EXPECT_THROW(gradcheck({e}, {e}, {{"y", Tensor(DType::f64, Shape{2})}}), UsageError);
}

}  // namespace
}  // namespace symgrad
