#pragma once
// Arithmetic expressions for `symgrad minimize --expr`: numbers, variables x, y (x0, x1) or
// x0..xn, + - * / ^ (right-associative; the exponent a constant), unary minus, parentheses and
// exp, log, sqrt, sin, cos, tanh, abs, square and the activations sigmoid, relu, leaky_relu (0.01)
// and softplus. Parsed into a tree, then built into graph nodes over a
// vector of variables. Errors name the column and show it.

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "symgrad/graph/graph.hpp"

namespace symgrad::cli {

/// A syntax error: the message, and the 1-based column it points at.
class ExpressionError : public std::runtime_error {
 public:
  ExpressionError(const std::string& text, std::size_t column, const std::string& what);
  std::size_t column() const { return column_; }

 private:
  std::size_t column_;
};

class Expression {
 public:
  /// Parses `text`; throws ExpressionError.
  explicit Expression(const std::string& text);
  ~Expression();
  Expression(Expression&&) noexcept;

  /// Number of variables: 1 + the largest index used (x and y are x0 and x1).
  std::size_t dimension() const { return dimension_; }
  /// Variable i as the expression names it: "x" and "y" when it uses them, else "x0", "x1", ...
  std::string variable_name(std::size_t i) const;
  /// The expression over the components of `x` (a vector of dimension() elements).
  Value build(Value x) const;
  /// The expression at a point (for tests and plots).
  double evaluate(const std::vector<double>& x) const;

  struct Node;

 private:
  std::unique_ptr<Node> root_;
  std::size_t dimension_ = 0;
  bool xy_ = false;
};

}  // namespace symgrad::cli
