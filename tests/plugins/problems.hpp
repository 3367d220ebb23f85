#pragma once
// Small objectives the optimizer tests share, as graph builders over a parameter vector.

#include "symgrad/symgrad.hpp"

namespace symgrad::testing {


/// Rosenbrock's function of (x0, x1): 100 (x1 - x0^2)^2 + (1 - x0)^2, minimum 0 at (1, 1).
inline Value rosenbrock(Value x) {
  Value a = element(x, 0), b = element(x, 1);
  return 100.0 * square(b - square(a)) + square(1.0 - a);
}

/// Logistic regression on 8 fixed points in 2-D (not separable: a finite minimum); w = (w0, w1,
/// bias): the mean of log(1 + e^z) - y z with z = x.w + bias.
inline Value logistic_regression(Value w) {
  static const std::vector<double> features = {0.5, 1.0,  -1.0, 0.3, 1.5, -0.2, -0.4, -1.2,
                                               2.0, 0.7, -1.5, 0.1, 0.2, 0.9,  -0.8, -0.6};
  static const std::vector<double> labels = {1, 0, 1, 0, 1, 0, 0, 1};
  Graph& g = *w.graph;
  Value xs = g.constant(Tensor::from(DType::f64, Shape{8, 2}, features));
  Value ys = g.constant(Tensor::from(DType::f64, Shape{8}, labels));
  Value z = reshape(matmul(xs, reshape(slice(w, {0}, {2}), Shape{2, 1})), Shape{8}) + element(w, 2);
  return mean(softplus(z) - ys * z);
}

}  // namespace symgrad::testing
