#pragma once
// Runs an optimizer plugin, through the real loader, on f(w) = w^2 / 2 (gradient w) from a
// scalar start, in f64 on the reference backend: the trajectory the golden-step tests compare
// with numbers worked out from each optimizer's documented formula.

#include <vector>

#include <gtest/gtest.h>

#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"

namespace symgrad::testing {

/// w after each of `steps` steps; `store` (optional) keeps the state between calls.
inline std::vector<double> run_on_parabola(const std::string& optimizer, const Settings& settings, int steps,
                                           VariableStore* store = nullptr, double w0 = 1.0) {
  Graph g;
  auto w = g.variable("w", {DType::f64, Shape{}});
  auto loss = 0.5 * square(w);
  auto grads = gradients(loss, {w});
  VariableStore local;
  VariableStore& s = store ? *store : local;
  if (!s.has("w")) s.set("w", Tensor::scalar(DType::f64, w0));
  CompileOptions o;
  o.updates = build_optimizer_step(optimizer, settings, {}, g, {w}, grads, s).updates;
  Plan p = compile(g, {loss}, o);
  std::vector<double> out;
  for (int i = 0; i < steps; ++i) {
    p.run({}, &s);
    out.push_back(s.get("w").get(0));
  }
  return out;
}

inline void expect_steps(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-12) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "step " << i + 1;
}

}  // namespace symgrad::testing
