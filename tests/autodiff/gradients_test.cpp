#include <gtest/gtest.h>

#include "support/tensors.hpp"
#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

using symgrad::testing::vec;

TEST(Gradients, SharedParameterGetsTheSumOfItsGradients) {
  // f = sum(w * x) + sum(w * w): df/dw = x + 2 w  (w used in three places)
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{3}});
  auto w = g.input("w", {DType::f64, Shape{3}});
  auto f = sum(w * x) + sum(w * w);
  auto dw = gradients(f, {w})[0];
  Plan p = compile(g, {dw});
  auto r = p.run({{"x", vec({1, 2, 3})}, {"w", vec({0.5, -1, 2})}})[0].to_vector();
  EXPECT_EQ(r, (std::vector<double>{2, 0, 7}));
}

TEST(Gradients, DisconnectedIsAnErrorUnlessAllowed) {
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{2}});
  auto z = g.input("z", {DType::f64, Shape{2}});
  auto f = sum(exp(x));
  try {
    gradients(f, {z});
    FAIL();
  } catch (const GradientError& e) {
    EXPECT_NE(std::string(e.what()).find("'z'"), std::string::npos) << e.what();
  }
  auto dz = gradients(f, {z}, GradientOptions{true})[0];
  Plan p = compile(g, {dz});
  EXPECT_EQ(p.run({{"z", vec({1, 2})}})[0].to_vector(), (std::vector<double>{0, 0}));
}

TEST(Gradients, NodesOffThePathCostNothing) {
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{4}});
  auto y = g.input("y", {DType::f64, Shape{4}});
  // a long chain on y only: d/dx must not differentiate through it
  Value side = y;
  for (int i = 0; i < 20; ++i) side = tanh(side) * 1.5;
  auto f = sum(square(x)) + sum(side);
  const auto before = g.size();
  auto dx = gradients(f, {x})[0];
  EXPECT_LT(g.size() - before, 12u);  // a handful of gradient nodes, none for the 40-node chain
  Plan p = compile(g, {dx});
  EXPECT_LE(p.num_steps(), 6u);  // reshape, broadcast, 2 x, times g: none from the chain
  EXPECT_EQ(p.run({{"x", vec({1, 2, 3, 4})}})[0].to_vector(), (std::vector<double>{2, 4, 6, 8}));
}

TEST(Gradients, UndefinedGradientRaisesOnlyWhenNeeded) {
  Graph g;
  auto z = g.input("z", {DType::f64, Shape{2, 3}});
  auto labels = g.input("labels", {DType::i64, Shape{2}});
  auto loss = mean(softmax_cross_entropy(z, labels));
  EXPECT_NO_THROW(gradients(loss, {z}));  // the labels are on no needed path
  try {
    gradients(loss, {labels});
    FAIL();
  } catch (const GradientError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("undefined"), std::string::npos) << msg;
    EXPECT_NE(msg.find("softmax_cross_entropy"), std::string::npos) << msg;
  }
}

TEST(Gradients, LossMustBeScalar) {
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{2}});
  EXPECT_THROW(gradients(exp(x), {x}), ShapeError);
  // vjp handles other shapes
  auto seed = g.constant(vec({1, 10}));
  auto d = vjp({exp(x)}, {seed}, {x})[0];
  Plan p = compile(g, {d});
  auto r = p.run({{"x", vec({0, 0})}})[0].to_vector();
  EXPECT_EQ(r, (std::vector<double>{1, 10}));
}

TEST(Gradients, OpenBatchDimension) {
  // A model with an open batch: the gradient works for any batch size at run time.
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{Shape::kOpen, 3}});
  auto w = g.input("w", {DType::f64, Shape{3, 2}});
  auto b = g.input("b", {DType::f64, Shape{2}});
  auto loss = mean(square(matmul(x, w) + b));
  auto grads = gradients(loss, {w, b});
  Plan p = compile(g, grads);
  Tensor wv = Tensor::from(DType::f64, Shape{3, 2}, {1, 0, 0, 1, 1, 1});
  Tensor bv = vec({0, 0});
  for (std::int64_t n : {1, 4, 2}) {
    Tensor xv(DType::f64, Shape{n, 3});
    xv.fill(1.0);  // every row gives h = (2, 2): d mean(h^2)/db = 2 h / 2 = (2, 2)
    auto r = p.run({{"x", xv}, {"w", wv}, {"b", bv}});
    EXPECT_EQ(r[1].to_vector(), (std::vector<double>{2, 2})) << "batch " << n;
    EXPECT_EQ(r[0].to_vector(), (std::vector<double>{2, 2, 2, 2, 2, 2})) << "batch " << n;
  }
}

TEST(Gradients, TotalOrPartialDerivativesWithRespectToDependentValues) {
  // f = y^2 with y = 2x: total df/dx = 8x and df/dy = 2y; taken as independent, df/dx = 0
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{}});
  auto y = x * 2.0;
  auto f = square(y);
  auto total = gradients(f, {x, y});
  auto partial = gradients(f, {x, y}, GradientOptions{true, true});
  Plan p = compile(g, {total[0], total[1], partial[0], partial[1]});
  const auto& r = p.run({{"x", Tensor::scalar(DType::f64, 3.0)}});
  EXPECT_EQ(r[0].get(0), 24.0);
  EXPECT_EQ(r[1].get(0), 12.0);
  EXPECT_EQ(r[2].get(0), 0.0);
  EXPECT_EQ(r[3].get(0), 12.0);
}

TEST(Gradients, GradientsOfGradients) {
  // f = x^3: f' = 3x^2, f'' = 6x, f''' = 6
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{}});
  auto f = pow(x, 3.0);
  auto d1 = gradients(f, {x})[0];
  auto d2 = gradients(d1, {x})[0];
  auto d3 = gradients(d2, {x})[0];
  Plan p = compile(g, {d1, d2, d3});
  const auto& r = p.run({{"x", Tensor::scalar(DType::f64, 2.0)}});
  EXPECT_DOUBLE_EQ(r[0].get(0), 12.0);
  EXPECT_DOUBLE_EQ(r[1].get(0), 12.0);
  EXPECT_DOUBLE_EQ(r[2].get(0), 6.0);
}

}  // namespace
}  // namespace symgrad
