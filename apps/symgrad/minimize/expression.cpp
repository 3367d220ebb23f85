#include "expression.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "symgrad/ops/ops.hpp"

namespace symgrad::cli {

ExpressionError::ExpressionError(const std::string& text, std::size_t column, const std::string& what)
    : std::runtime_error(fmt::format("{} at column {}\n  {}\n  {}^", what, column, text, std::string(column - 1, ' '))),
      column_(column) {}

struct Expression::Node {
  enum Kind { number, variable, negate, binary, call } kind;
  double value = 0;         // number
  std::size_t index = 0;    // variable
  char op = 0;              // binary: + - * / ^
  std::string function;     // call
  std::vector<std::unique_ptr<Node>> args;
  std::size_t depth = 1;    // of the tree below (and with) this node
};

namespace {

using Node = Expression::Node;

const std::map<std::string, std::pair<std::function<Value(Value)>, std::function<double(double)>>>& functions() {
  static const std::map<std::string, std::pair<std::function<Value(Value)>, std::function<double(double)>>> f = {
      {"exp", {[](Value v) { return exp(v); }, [](double v) { return std::exp(v); }}},
      {"log", {[](Value v) { return log(v); }, [](double v) { return std::log(v); }}},
      {"sqrt", {[](Value v) { return sqrt(v); }, [](double v) { return std::sqrt(v); }}},
      {"sin", {[](Value v) { return sin(v); }, [](double v) { return std::sin(v); }}},
      {"cos", {[](Value v) { return cos(v); }, [](double v) { return std::cos(v); }}},
      {"tanh", {[](Value v) { return tanh(v); }, [](double v) { return std::tanh(v); }}},
      {"abs", {[](Value v) { return abs(v); }, [](double v) { return std::abs(v); }}},
      {"square", {[](Value v) { return square(v); }, [](double v) { return v * v; }}},
      // the activations, as the ops compute them (softplus: log(1 + e^x) without overflow)
      {"sigmoid", {[](Value v) { return sigmoid(v); }, [](double v) { return 1 / (1 + std::exp(-v)); }}},
      {"relu", {[](Value v) { return relu(v); }, [](double v) { return v > 0 ? v : 0.0; }}},
      {"leaky_relu", {[](Value v) { return leaky_relu(v); }, [](double v) { return v > 0 ? v : 0.01 * v; }}},
      {"softplus",
       {[](Value v) { return softplus(v); }, [](double v) { return std::max(v, 0.0) + std::log1p(std::exp(-std::abs(v))); }}}};
  return f;
}

bool constant(const Node& n) {
  if (n.kind == Node::variable) return false;
  for (const auto& a : n.args) {
    if (!constant(*a)) return false;
  }
  return true;
}

double eval(const Node& n, const std::vector<double>& x) {
  switch (n.kind) {
    case Node::number: return n.value;
    case Node::variable: return x.at(n.index);
    case Node::negate: return -eval(*n.args[0], x);
    case Node::call: return functions().at(n.function).second(eval(*n.args[0], x));
    case Node::binary: {
      const double a = eval(*n.args[0], x), b = eval(*n.args[1], x);
      switch (n.op) {
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        case '/': return a / b;
        default: return std::pow(a, b);
      }
    }
  }
  return 0;
}

// Recursive descent:  sum := product (('+' | '-') product)*;  product := unary (('*' | '/') unary)*
// unary := '-' unary | power;  power := primary (('^' | '**') unary)?;  primary := number | name | name '(' sum ')'
// | '(' sum ')'
class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  std::unique_ptr<Node> parse(std::size_t& dimension, bool& xy) {
    auto n = sum();
    skip();
    if (i_ < s_.size()) fail(fmt::format("unexpected '{}'", s_[i_]));
    dimension = dimension_;
    xy = xy_;
    return n;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw ExpressionError(s_, i_ + 1, what); }
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  static std::unique_ptr<Node> make(Node::Kind k) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    return n;
  }
  // Building, evaluating and destroying a tree recurse over its depth: a depth past this (a long
  // chain "x+x+...", parentheses in parentheses) is an error, not a stack overflow.
  static constexpr std::size_t kMaxDepth = 1000;
  std::unique_ptr<Node> nest(std::unique_ptr<Node> n) const {
    for (const auto& a : n->args) n->depth = std::max(n->depth, a->depth + 1);
    if (n->depth > kMaxDepth) fail(fmt::format("the expression nests deeper than {} levels", kMaxDepth));
    return n;
  }
  std::unique_ptr<Node> binary(char op, std::unique_ptr<Node> a, std::unique_ptr<Node> b) {
    auto n = make(Node::binary);
    n->op = op;
    n->args.push_back(std::move(a));
    n->args.push_back(std::move(b));
    return nest(std::move(n));
  }
  std::unique_ptr<Node> sum() {
    auto n = product();
    for (;;) {
      if (eat('+')) {
        n = binary('+', std::move(n), product());
      } else if (eat('-')) {
        n = binary('-', std::move(n), product());
      } else {
        return n;
      }
    }
  }
  std::unique_ptr<Node> product() {
    auto n = unary();
    for (;;) {
      if (eat('*')) {
        n = binary('*', std::move(n), unary());
      } else if (eat('/')) {
        n = binary('/', std::move(n), unary());
      } else {
        return n;
      }
    }
  }
  std::unique_ptr<Node> unary() {  // every recursion of the parser passes here
    struct Level {
      std::size_t& d;
      explicit Level(std::size_t& depth) : d(++depth) {}
      ~Level() { --d; }
    } level(parsing_);
    if (parsing_ > kMaxDepth) fail(fmt::format("the expression nests deeper than {} levels", kMaxDepth));
    if (eat('-')) {
      auto n = make(Node::negate);
      n->args.push_back(unary());
      return nest(std::move(n));
    }
    if (eat('+')) return unary();
    return power();
  }
  std::unique_ptr<Node> power() {
    auto base = primary();
    skip();
    const std::size_t at = i_;
    // x ** 2 as Python writes it: the same operator as ^ (right-associative, above unary minus)
    const bool python = i_ + 1 < s_.size() && s_[i_] == '*' && s_[i_ + 1] == '*';
    if (python) {
      i_ += 2;
    } else if (!eat('^')) {
      return base;
    }
    auto exponent = unary();
    if (!constant(*exponent)) {
      i_ = at;
      fail(fmt::format("the exponent after '{}' must be a constant", python ? "**" : "^"));
    }
    return binary('^', std::move(base), std::move(exponent));
  }
  std::unique_ptr<Node> primary() {
    skip();
    if (i_ >= s_.size()) fail("expected a number, a variable, a function or '('");
    const char c = s_[i_];
    if (c == '(') {
      ++i_;
      auto n = sum();
      if (!eat(')')) fail("expected ')'");
      return n;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      const char* begin = s_.c_str() + i_;
      char* end = nullptr;
      const double v = std::strtod(begin, &end);
      if (end == begin) fail("malformed number");
      i_ += static_cast<std::size_t>(end - begin);
      auto n = make(Node::number);
      n->value = v;
      return n;
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      const std::size_t start = i_;
      while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) ++i_;
      const std::string name = s_.substr(start, i_ - start);
      if (functions().count(name)) {
        if (!eat('(')) fail(fmt::format("expected '(' after {}", name));
        auto n = make(Node::call);
        n->function = name;
        n->args.push_back(sum());
        if (!eat(')')) fail("expected ')'");
        return nest(std::move(n));
      }
      std::size_t index = 0;
      if (name == "x" || name == "y") {
        index = name == "x" ? 0 : 1;
      } else if (name.size() > 1 && name[0] == 'x' &&
                 name.find_first_not_of("0123456789", 1) == std::string::npos && name.size() < 8) {
        index = static_cast<std::size_t>(std::stoul(name.substr(1)));
      } else {
        i_ = start;
        std::string known;
        for (const auto& [f, impl] : functions()) known += (known.empty() ? "" : ", ") + f;
        fail(fmt::format("unknown name '{}' (variables: x, y or x0, x1, ...; functions: {})", name, known));
      }
      dimension_ = std::max(dimension_, index + 1);
      xy_ = xy_ || name == "x" || name == "y";
      auto n = make(Node::variable);
      n->index = index;
      return n;
    }
    fail(fmt::format("unexpected '{}'", c));
  }

  const std::string& s_;
  std::size_t i_ = 0;
  std::size_t dimension_ = 0;
  bool xy_ = false;  // x or y written (not x0, x1)
  std::size_t parsing_ = 0;  // unary() calls in progress
};

Value build_node(const Node& n, Value x, Graph& g) {
  const DType dt = x.dtype();
  switch (n.kind) {
    case Node::number: return g.scalar(n.value, dt);
    case Node::variable: return element(x, static_cast<std::int64_t>(n.index));
    case Node::negate: return -build_node(*n.args[0], x, g);
    case Node::call: return functions().at(n.function).first(build_node(*n.args[0], x, g));
    case Node::binary: {
      if (n.op == '^') return pow(build_node(*n.args[0], x, g), eval(*n.args[1], {}));
      Value a = build_node(*n.args[0], x, g), b = build_node(*n.args[1], x, g);
      switch (n.op) {
        case '+': return a + b;
        case '-': return a - b;
        case '*': return a * b;
        default: return a / b;
      }
    }
  }
  return {};
}

}  // namespace

Expression::Expression(const std::string& text) {
  Parser p(text);
  root_ = p.parse(dimension_, xy_);
}

std::string Expression::variable_name(std::size_t i) const {
  return xy_ && i < 2 ? std::string(i == 0 ? "x" : "y") : fmt::format("x{}", i);
}

Expression::~Expression() = default;
Expression::Expression(Expression&&) noexcept = default;

Value Expression::build(Value x) const { return build_node(*root_, x, *x.graph); }

double Expression::evaluate(const std::vector<double>& x) const { return eval(*root_, x); }

}  // namespace symgrad::cli
