#pragma once
// The built-in functions of `symgrad minimize`: classic test functions of optimization, each with
// its default start and known minimum, built as graph nodes over a vector of variables.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "symgrad/graph/graph.hpp"

namespace symgrad::cli {

struct TestFunction {
  std::string name;
  std::string formula;       // in the notation of --expr
  std::string why;           // what it shows
  bool any_dimension = false;  // else 2-D
  std::vector<double> start;   // the default start for 2 dimensions
  std::vector<double> minimum;  // a global minimizer in 2 dimensions (empty: unbounded below)
  /// f(x) for x of `dim` components; `cond` is quadratic's condition number.
  std::function<Value(Value x, std::size_t dim, double cond)> build;
  /// The default start in `dim` dimensions.
  std::vector<double> start_in(std::size_t dim) const;
};

const std::vector<TestFunction>& test_functions();
/// The function named `name`, or a UsageError listing them (with the nearest name).
const TestFunction& test_function(const std::string& name);

}  // namespace symgrad::cli
