// Ill-conditioning at a minimum: a small network (2-3-2, tanh) fitted to noisy moons by L-BFGS, then
// the exact Hessian of its loss (double symbolic differentiation) and its extreme eigenvalues
// (symmetric_eigen: Jacobi's method): their ratio, the condition number, bounds how fast gradient descent converges
// there (Goodfellow, Bengio and Courville, "Deep Learning", section 8.2.1).
#include <cmath>

#include <fmt/core.h>

#include "symgrad/data/synthetic.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"
#include "symgrad/plugin/objective.hpp"
#include "symgrad/plugin/spectrum.hpp"

int main() {
  using namespace symgrad;
  const Dataset data = make_moons(200, 0.4, 3);  // overlapping classes: a finite minimum
  Tensor features(DType::f64, data.features.shape());
  for (std::int64_t i = 0; i < features.numel(); ++i) features.set(i, data.features.get(i));
  Graph g;
  const std::int64_t n = 2 * 3 + 3 + 3 * 2 + 2;  // all parameters in one vector
  Value theta = g.variable("theta", {DType::f64, Shape{n}});
  auto part = [&](std::int64_t at, const Shape& s) { return reshape(slice(theta, {at}, {s.numel()}), s); };
  Value x = g.constant(features), y = g.constant(data.labels);
  Value h = tanh(matmul(x, part(0, Shape{2, 3})) + part(6, Shape{3}));
  Value loss = mean(softmax_cross_entropy(matmul(h, part(9, Shape{3, 2})) + part(15, Shape{2}), y));
  VariableStore store;
  Tensor start(DType::f64, Shape{n});
  for (std::int64_t i = 0; i < n; ++i) start.set(i, 0.5 * std::sin(1.3 * static_cast<double>(i) + 0.4));
  store.set("theta", start);

  GraphObjective objective(g, loss, {theta}, store);
  auto lbfgs = PluginRegistry::global().make_host_optimizer("lbfgs", {{"tolerance_change", 0.0}});
  std::vector<double> t = objective.current(), grad, hessian;
  double f = 0;
  for (int i = 0; i < 500; ++i) f = lbfgs->iterate(objective, t);
  objective.value_and_grad(t, grad);
  double gmax = 0;
  for (double v : grad) gmax = std::max(gmax, std::abs(v));
  objective.hessian(t, hessian);
  std::vector<double> ev, vectors;  // ascending
  symmetric_eigen(hessian, static_cast<std::size_t>(n), ev, vectors);
  fmt::print("loss {:.6f} at a point where max |gradient| = {:.2e}\n", f, gmax);
  fmt::print("Hessian eigenvalues: smallest {:.3e}, largest {:.3e}\n", ev.front(), ev.back());
  fmt::print("condition number (largest / smallest positive): {:.3e}\n",
             ev.back() / *std::find_if(ev.begin(), ev.end(), [](double v) { return v > 1e-12; }));
  return gmax < 1e-4 && ev.front() > -1e-6 ? 0 : 1;  // a minimum: gradient ~0, no negative curvature
}
