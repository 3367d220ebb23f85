#include <gtest/gtest.h>

#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

TEST(Graph, BuilderReadsLikeMath) {
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{Shape::kOpen, 4}});
  auto y = g.input("y", {DType::i64, Shape{Shape::kOpen}});
  auto W = g.variable("dense/W", {DType::f64, Shape{4, 3}});
  auto b = g.variable("dense/b", {DType::f64, Shape{3}});
  auto h = relu(matmul(x, W) + b);
  auto loss = mean(softmax_cross_entropy(h, y));
  EXPECT_EQ(h.type().to_string(), "f64[?, 3]");
  EXPECT_EQ(loss.type().to_string(), "f64[]");
}

TEST(Graph, ShapeErrorNamesOpNodeAndShapes) {
  Graph g;
  auto a = g.input("a", {DType::f64, Shape{2, 3}});
  auto b = g.input("b", {DType::f64, Shape{4, 5}});
  try {
    matmul(a, b);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("matmul"), std::string::npos) << msg;
    EXPECT_NE(msg.find("#2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[4, 5]"), std::string::npos) << msg;
  }
  EXPECT_THROW(a + b, ShapeError);
}

TEST(Graph, DtypeMismatchIsAShapeError) {
  Graph g;
  auto a = g.input("a", {DType::f64, Shape{2}});
  auto b = g.input("b", {DType::f32, Shape{2}});
  EXPECT_THROW(a * b, ShapeError);
}

TEST(Graph, UnknownOpSuggestsNearest) {
  Graph g;
  auto a = g.input("a", {DType::f64, Shape{2}});
  try {
    g.apply("sigmiod", {a});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("sigmoid"), std::string::npos) << e.what();
  }
}

TEST(Graph, ArityIsChecked) {
  Graph g;
  auto a = g.input("a", {DType::f64, Shape{2}});
  EXPECT_THROW(g.apply("add", {a}), UsageError);
}

TEST(Graph, ValuesFromAnotherGraphAreRejected) {
  Graph g1, g2;
  auto a = g1.input("a", {DType::f64, Shape{2}});
  auto b = g2.input("b", {DType::f64, Shape{2}});
  EXPECT_THROW(a + b, UsageError);
}

TEST(Graph, DuplicateLeafNamesAreRejected) {
  Graph g;
  g.input("x", {DType::f64, Shape{2}});
  EXPECT_THROW(g.input("x", {DType::f64, Shape{2}}), UsageError);
  EXPECT_THROW(g.variable("v", {DType::f64, Shape{Shape::kOpen}}), ShapeError);
}

TEST(Graph, BroadcastingFollowsNumPy) {
  Graph g;
  auto a = g.input("a", {DType::f64, Shape{2, 1, 3}});
  auto b = g.input("b", {DType::f64, Shape{4, 1}});
  EXPECT_EQ((a + b).shape(), (Shape{2, 4, 3}));
  auto c = g.input("c", {DType::f64, Shape{Shape::kOpen, 3}});
  EXPECT_EQ((c * a).shape(), (Shape{2, Shape::kOpen, 3}));  // 1 against open: open
}

TEST(Graph, ToStringMarksGradientNodes) {
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{3}});
  auto loss = sum(square(x));
  gradients(loss, {x});
  const std::string dump = to_string(g);
  EXPECT_NE(dump.find("%0 = input 'x' : f64[3]"), std::string::npos) << dump;
  EXPECT_NE(dump.find("square(%0)"), std::string::npos) << dump;
  EXPECT_NE(dump.find("[grad]"), std::string::npos) << dump;
  // the forward nodes are not gradient nodes
  const auto first_line = dump.substr(0, dump.find('\n'));
  EXPECT_EQ(first_line.find("[grad]"), std::string::npos);
}

TEST(Graph, MultiOutputOps) {
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{8, 3}});
  auto gamma = g.variable("bn/gamma", {DType::f64, Shape{3}});
  auto beta = g.variable("bn/beta", {DType::f64, Shape{3}});
  auto bn = batch_norm(x, gamma, beta);
  EXPECT_EQ(bn.y.shape(), (Shape{8, 3}));
  EXPECT_EQ(bn.mean.shape(), (Shape{3}));
  EXPECT_EQ(bn.var.index, 2);
  EXPECT_THROW(g.apply1("batch_norm", {x, gamma, beta}, Attrs{{"eps", 1e-5}}), UsageError);
}

}  // namespace
}  // namespace symgrad
