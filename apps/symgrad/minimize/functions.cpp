#include "functions.hpp"

#include <cmath>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/names.hpp"
#include "symgrad/ops/ops.hpp"

namespace symgrad::cli {

namespace {

Value at(Value x, std::size_t i) { return element(x, static_cast<std::int64_t>(i)); }
Value c(Value like, double v) { return like.graph->scalar(v, like.dtype()); }

}  // namespace

std::vector<double> TestFunction::start_in(std::size_t dim) const {
  std::vector<double> s(dim);
  for (std::size_t i = 0; i < dim; ++i) s[i] = start[i % start.size()];
  return s;
}

const std::vector<TestFunction>& test_functions() {
  static const std::vector<TestFunction> all = {
      {"rosenbrock", "sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2",
       "a curved, narrow valley: first-order methods crawl, second-order ones follow it", true, {-1.2, 1}, {1, 1},
       [](Value x, std::size_t n, double) {
         Value f = c(x, 0);
         for (std::size_t i = 0; i + 1 < n; ++i) f = f + 100.0 * square(at(x, i + 1) - square(at(x, i))) + square(1.0 - at(x, i));
         return f;
       }},
      {"beale", "(1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2",
       "flat plateaus and sharp ridges", false, {1, 1}, {3, 0.5},
       [](Value x, std::size_t, double) {
         Value a = at(x, 0), b = at(x, 1);
         return square(1.5 - a + a * b) + square(2.25 - a + a * square(b)) + square(2.625 - a + a * pow(b, 3));
       }},
      {"booth", "(x + 2 y - 7)^2 + (2 x + y - 5)^2", "a plain quadratic bowl, mildly conditioned", false, {0, 0}, {1, 3},
       [](Value x, std::size_t, double) {
         Value a = at(x, 0), b = at(x, 1);
         return square(a + 2.0 * b - 7.0) + square(2.0 * a + b - 5.0);
       }},
      {"sphere", "sum x[i]^2", "the easiest bowl: every method should converge", true, {1, 1}, {0, 0},
       [](Value x, std::size_t, double) { return sum(square(x)); }},
      {"himmelblau", "(x^2 + y - 11)^2 + (x + y^2 - 7)^2", "four minima: the start decides which one is found",
       false, {0, 0}, {3, 2},
       [](Value x, std::size_t, double) {
         Value a = at(x, 0), b = at(x, 1);
         return square(square(a) + b - 11.0) + square(a + square(b) - 7.0);
       }},
      {"matyas", "0.26 (x^2 + y^2) - 0.48 x y", "a long flat valley along x = y", false, {2, 1}, {0, 0},
       [](Value x, std::size_t, double) {
         Value a = at(x, 0), b = at(x, 1);
         return 0.26 * (square(a) + square(b)) - 0.48 * a * b;
       }},
      {"mccormick", "sin(x + y) + (x - y)^2 - 1.5 x + 2.5 y + 1", "a smooth non-convex valley", false, {0, 0},
       {-0.54719755, -1.54719755},
       [](Value x, std::size_t, double) {
         Value a = at(x, 0), b = at(x, 1);
         return sin(a + b) + square(a - b) - 1.5 * a + 2.5 * b + 1.0;
       }},
      {"styblinski_tang", "sum (x[i]^4 - 16 x[i]^2 + 5 x[i]) / 2",
       "a local minimum near 2.75 beside the global one near -2.90 in every coordinate", true, {0, 0},
       {-2.903534, -2.903534},
       [](Value x, std::size_t, double) { return 0.5 * sum(pow(x, 4) - 16.0 * square(x) + 5.0 * x); }},
      {"quadratic", "sum cond^(i/(n-1)) x[i]^2 / 2", "ill-conditioning: set cond=K (default 10)", true, {1, 1}, {0, 0},
       [](Value x, std::size_t n, double cond) {
         std::vector<double> scale(n);
         for (std::size_t i = 0; i < n; ++i) scale[i] = n == 1 ? 1.0 : std::pow(cond, double(i) / double(n - 1));
         Value s = x.graph->constant(Tensor::from(x.dtype(), Shape{static_cast<std::int64_t>(n)}, scale));
         return 0.5 * sum(s * square(x));
       }},
      {"saddle", "x^2 - y^2", "a saddle point at 0, unbounded below: does the method escape?", false, {1, 0.01}, {},
       [](Value x, std::size_t, double) { return square(at(x, 0)) - square(at(x, 1)); }},
      {"monkey_saddle", "x^3 - 3 x y^2", "a degenerate saddle at 0 (three valleys), unbounded below", false, {1, 0.1}, {},
       [](Value x, std::size_t, double) {
         Value a = at(x, 0), b = at(x, 1);
         return pow(a, 3) - 3.0 * a * square(b);
       }},
  };
  return all;
}

const TestFunction& test_function(const std::string& name) {
  std::vector<std::string> names;
  for (const auto& f : test_functions()) {
    if (f.name == name) return f;
    names.push_back(f.name);
  }
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  throw UsageError(fmt::format("unknown function '{}'{}; built in: {}", name, did_you_mean(name, names), list));
}

}  // namespace symgrad::cli
