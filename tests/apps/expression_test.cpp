// The expression language of `symgrad minimize --expr`: parsing, the built graph against direct
// evaluation, and errors that point at the column.

#include <gtest/gtest.h>

#include "minimize/expression.hpp"
#include "symgrad/symgrad.hpp"

namespace symgrad::cli {
namespace {

double graph_value(const Expression& e, const std::vector<double>& x) {
  Graph g;
  Value v = g.input("x", {DType::f64, Shape{static_cast<std::int64_t>(x.size())}});
  Plan p = compile(g, {e.build(v)});
  return p.run({{"x", Tensor::from(DType::f64, Shape{static_cast<std::int64_t>(x.size())}, x)}})[0].get(0);
}

TEST(Expression, RosenbrockAsText) {
  Expression e("100 * (y - x^2)^2 + (1 - x)^2");
  EXPECT_EQ(e.dimension(), 2u);
  EXPECT_DOUBLE_EQ(e.evaluate({-1.2, 1}), 24.2);
  EXPECT_DOUBLE_EQ(graph_value(e, {-1.2, 1}), 24.2);
  EXPECT_DOUBLE_EQ(e.evaluate({1, 1}), 0.0);
}

// Python's ** is ^: right-associative, binding tighter than unary minus (-x**2 = -(x**2))
TEST(Expression, PythonsPowerOperatorIsCaret) {
  Expression a("100 * (y - x**2)**2 + (1 - x)**2"), b("-x**2 + 2**3**0");
  EXPECT_DOUBLE_EQ(a.evaluate({-1.2, 1}), 24.2);
  EXPECT_DOUBLE_EQ(graph_value(a, {-1.2, 1}), 24.2);
  EXPECT_DOUBLE_EQ(b.evaluate({3}), -9.0 + 2.0);  // 2**(3**0) = 2
}

TEST(Expression, PrecedenceFunctionsAndIndexedVariables) {
  Expression e("-x0^2 + 2*x1/4 - exp(0) + sin(x2)*cos(x2) + tanh(0) + abs(-3) + sqrt(16) + log(1)");
  EXPECT_EQ(e.dimension(), 3u);
  // -(x0^2): unary minus binds looser than ^;  2 * x1 / 4 = x1 / 2
  EXPECT_DOUBLE_EQ(e.evaluate({3, 4, 0}), -9 + 2 - 1 + 0 + 0 + 3 + 4 + 0);
  EXPECT_NEAR(graph_value(e, {3, 4, 0.3}), e.evaluate({3, 4, 0.3}), 1e-14);
  EXPECT_DOUBLE_EQ(Expression("2^3^2").evaluate({}), 512);  // right-associative
  EXPECT_DOUBLE_EQ(Expression("x^-1").evaluate({4}), 0.25);
  EXPECT_DOUBLE_EQ(Expression("x^(1/2)").evaluate({9}), 3);
}

std::size_t error_column(const std::string& text, const std::string& part) {
  try {
    Expression e(text);
  } catch (const ExpressionError& err) {
    EXPECT_NE(std::string(err.what()).find(part), std::string::npos) << err.what();
    return err.column();
  }
  ADD_FAILURE() << text << " parsed";
  return 0;
}

TEST(Expression, ErrorsPointAtTheColumn) {
  EXPECT_EQ(error_column("x + * y", "unexpected '*'"), 5u);
  EXPECT_EQ(error_column("(x + 1", "expected ')'"), 7u);
  EXPECT_EQ(error_column("2 * foo(x)", "unknown name 'foo'"), 5u);
  EXPECT_EQ(error_column("x ^ y", "the exponent after '^' must be a constant"), 3u);
  EXPECT_EQ(error_column("x + 1)", "unexpected ')'"), 6u);
  EXPECT_EQ(error_column("sin x", "expected '(' after sin"), 5u);
  EXPECT_EQ(error_column("", "expected a number"), 1u);
  // the message shows the text and a caret under the column
  try {
    Expression e("x + * y");
  } catch (const ExpressionError& err) {
    EXPECT_NE(std::string(err.what()).find("x + * y\n      ^"), std::string::npos) << err.what();
  }
}

// Nesting past 1000 levels (parentheses, unary minus, or a long chain of one operator) is an
// error at the column where it happens, not a stack overflow (found: 20000 parentheses crashed).
TEST(Expression, DeepNestingIsAnErrorNotACrash) {
  for (const std::string& text : {std::string(20000, '(') + "x" + std::string(20000, ')'),
                                  std::string(40000, '-') + "x", [] {
                                    std::string chain = "x";
                                    for (int i = 0; i < 50000; ++i) chain += "+x";
                                    return chain;
                                  }()}) {
    try {
      Expression e(text);
      ADD_FAILURE() << "parsed " << text.size() << " characters nested past the limit";
    } catch (const ExpressionError& err) {
      EXPECT_NE(std::string(err.what()).find("the expression nests deeper than 1000 levels"), std::string::npos);
    }
  }
  EXPECT_NO_THROW(Expression(std::string(500, '(') + "x" + std::string(500, ')')));
}

}  // namespace
}  // namespace symgrad::cli
