// Forward values of ops: hand-derived numbers, numerical stability, and float vs double
// reference kernels on every op's samples.

#include <cmath>

#include <gtest/gtest.h>

#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

std::vector<double> run1(Graph& g, Value out, const Feeds& feeds = {}) {
  Plan p = compile(g, {out});
  return p.run(feeds)[0].to_vector();
}

Value constant(Graph& g, Shape s, std::vector<double> v, DType t = DType::f64) {
  return g.constant(Tensor::from(t, s, v));
}

TEST(Forward, EveryOpInFloatMatchesDouble) {
  for (const OpDef* op : OpRegistry::global().all()) {
    for (const auto& sample : op->samples()) {
      SCOPED_TRACE(op->name + "/" + sample.label);
      auto values = sample_values(sample, 42);
      std::vector<Tensor> as_f32 = values;
      for (auto& t : as_f32) {
        if (t.dtype() == DType::f64) t = t.to(DType::f32);
      }
      Attrs attrs = sample.attrs;
      if (attrs.has("dtype") && attrs.get_string("dtype") == "f64") attrs.set("dtype", std::string("f32"));
      auto run = [&](const std::vector<Tensor>& in, const Attrs& a) {
        Graph g;
        std::vector<Value> vs;
        for (const auto& t : in) vs.push_back(g.constant(t));
        auto outs = g.apply(op->name, vs, a);
        Plan p = compile(g, outs);
        std::vector<std::vector<double>> r;
        for (const auto& t : p.run({})) r.push_back(t.to_vector());
        return r;
      };
      auto d = run(values, sample.attrs);
      auto f = run(as_f32, attrs);
      ASSERT_EQ(d.size(), f.size());
      for (std::size_t k = 0; k < d.size(); ++k) {
        ASSERT_EQ(d[k].size(), f[k].size());
        for (std::size_t i = 0; i < d[k].size(); ++i) {
          EXPECT_NEAR(f[k][i], d[k][i], 1e-5 * (1.0 + std::abs(d[k][i]))) << "output " << k << "[" << i << "]";
        }
      }
    }
  }
}

TEST(Forward, SoftmaxCrossEntropyIsStableForHugeLogits) {
  Graph g;
  auto z = constant(g, {2, 3}, {1000, 0, -1000, 0, 0, 0});
  auto y = g.constant(Tensor::from(DType::i64, Shape{2}, {0, 2}));
  auto loss = run1(g, softmax_cross_entropy(z, y));
  EXPECT_NEAR(loss[0], 0.0, 1e-12);
  EXPECT_NEAR(loss[1], std::log(3.0), 1e-12);
  auto ls = run1(g, log_softmax(z));
  EXPECT_NEAR(ls[2], -2000.0, 1e-9);
  EXPECT_TRUE(std::isfinite(ls[2]));
}

TEST(Forward, SoftmaxCrossEntropyRejectsBadLabels) {
  Graph g;
  auto z = constant(g, {1, 3}, {1, 2, 3});
  auto y = g.constant(Tensor::from(DType::i32, Shape{1}, {3}));
  Plan p = compile(g, {softmax_cross_entropy(z, y)});
  try {
    p.run({});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("softmax_cross_entropy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("label 3"), std::string::npos) << e.what();
  }
}

TEST(Forward, SigmoidAndSoftplusDoNotOverflow) {
  Graph g;
  auto x = constant(g, {2}, {-800, 800});
  auto s = run1(g, sigmoid(x));
  EXPECT_EQ(s[0], 0.0);
  EXPECT_EQ(s[1], 1.0);
  auto sp = run1(g, softplus(x));
  EXPECT_EQ(sp[0], 0.0);
  EXPECT_EQ(sp[1], 800.0);
}

TEST(Forward, MatmulByHand) {
  Graph g;
  auto a = constant(g, {2, 2}, {1, 2, 3, 4});
  auto b = constant(g, {2, 1}, {5, 6});
  EXPECT_EQ(run1(g, matmul(a, b)), (std::vector<double>{17, 39}));
  auto batch = constant(g, {2, 1, 2}, {1, 0, 0, 1});
  EXPECT_EQ(run1(g, matmul(batch, a)), (std::vector<double>{1, 2, 3, 4}));
}

TEST(Forward, ReductionsWithKeepdims) {
  Graph g;
  auto x = constant(g, {2, 3}, {1, 5, 3, 4, 2, 6});
  EXPECT_EQ(run1(g, sum(x, {1})), (std::vector<double>{9, 12}));
  EXPECT_EQ(run1(g, mean(x, {0}, true)), (std::vector<double>{2.5, 3.5, 4.5}));
  EXPECT_EQ(run1(g, max(x)), (std::vector<double>{6}));
  EXPECT_EQ(sum(x, {1}, true).shape(), (Shape{2, 1}));
}

TEST(Forward, MaxGradientIsSharedBetweenTies) {
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{4}});
  auto dx = gradients(max(x), {x})[0];
  Plan p = compile(g, {dx});
  auto r = p.run({{"x", Tensor::from(DType::f64, Shape{4}, {1, 3, 3, 0})}})[0].to_vector();
  EXPECT_EQ(r, (std::vector<double>{0, 0.5, 0.5, 0}));
}

TEST(Forward, ConvolutionByHand) {
  Graph g;
  // 1x1x3x3 input 1..9, 2x2 kernel of ones, stride 1: window sums
  auto x = constant(g, {1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto w = constant(g, {1, 1, 2, 2}, {1, 1, 1, 1});
  EXPECT_EQ(run1(g, conv2d(x, w)), (std::vector<double>{12, 16, 24, 28}));
  // padding 1, stride 2: corners of the padded image
  EXPECT_EQ(run1(g, conv2d(x, w, {2, 2}, {1, 1})), (std::vector<double>{1, 5, 11, 28}));
  EXPECT_EQ(run1(g, max_pool2d(x, {2, 2}, {1, 1})), (std::vector<double>{5, 6, 8, 9}));
  EXPECT_EQ(run1(g, avg_pool2d(x, {2, 2}, {1, 1})), (std::vector<double>{3, 4, 6, 7}));
}

TEST(Forward, BatchNormNormalizesPerChannel) {
  Graph g;
  auto x = constant(g, {4, 2}, {1, 10, 2, 20, 3, 30, 4, 40});
  auto gamma = constant(g, {2}, {1, 2});
  auto beta = constant(g, {2}, {0, 1});
  auto bn = batch_norm(x, gamma, beta, 0.0 + 1e-12);
  Plan p = compile(g, {bn.y, bn.mean, bn.var});
  const auto& r = p.run({});
  EXPECT_EQ(r[1].to_vector(), (std::vector<double>{2.5, 25}));
  EXPECT_EQ(r[2].to_vector(), (std::vector<double>{1.25, 125}));
  const double z = 1.5 / std::sqrt(1.25);
  EXPECT_NEAR(r[0].get(0), -z, 1e-9);
  EXPECT_NEAR(r[0].get(1), -2 * z + 1, 1e-9);
  auto inf = batch_norm_inference(x, gamma, beta, bn.mean, bn.var, 1e-12);
  auto r2 = run1(g, inf);
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(r2[static_cast<std::size_t>(i)], r[0].get(i), 1e-9);
}

TEST(Forward, ShapeOps) {
  Graph g;
  auto x = constant(g, {2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_EQ(run1(g, transpose(x)), (std::vector<double>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(run1(g, slice(x, {0, 1}, {2, -1})), (std::vector<double>{2, 3, 5, 6}));
  auto c = concat({x, slice(x, {0, 0}, {2, 1})}, 1);
  EXPECT_EQ(c.shape(), (Shape{2, 4}));
  EXPECT_EQ(run1(g, c), (std::vector<double>{1, 2, 3, 1, 4, 5, 6, 4}));
  EXPECT_EQ(reshape(x, Shape{-1}).shape(), (Shape{6}));
  EXPECT_THROW(reshape(x, Shape{4, -1}), ShapeError);
  EXPECT_EQ(run1(g, broadcast_to(slice(x, {0, 0}, {1, 3}), Shape{2, 3})),
            (std::vector<double>{1, 2, 3, 1, 2, 3}));
}

TEST(Forward, WhereComparisonsAndDropout) {
  Graph g;
  auto a = constant(g, {4}, {-2, -1, 1, 2});
  auto zero = g.scalar(0.0, DType::f64);
  EXPECT_EQ(run1(g, greater(a, zero)), (std::vector<double>{0, 0, 1, 1}));
  EXPECT_EQ(run1(g, where(less(a, zero), neg(a), a)), (std::vector<double>{2, 1, 1, 2}));
  auto m = constant(g, {4}, {1, 0, 1, 0});
  EXPECT_EQ(run1(g, dropout(a, m, 0.5)), (std::vector<double>{-4, 0, 2, 0}));
  EXPECT_THROW(dropout(a, m, 1.0), UsageError);
  EXPECT_EQ(run1(g, leaky_relu(a, 0.1)), (std::vector<double>{-0.2, -0.1, 1, 2}));
  EXPECT_EQ(run1(g, sign(a)), (std::vector<double>{-1, -1, 1, 1}));
}

TEST(Forward, MseByHand) {
  Graph g;
  auto p = constant(g, {2, 2}, {1, 2, 3, 4});
  auto t = constant(g, {2, 2}, {1, 0, 3, 0});
  EXPECT_EQ(run1(g, mse(p, t)), (std::vector<double>{5}));
}

}  // namespace
}  // namespace symgrad
