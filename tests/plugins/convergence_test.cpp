// Every first-order optimizer plugin reaches the known minimum of a parabola, of Rosenbrock's
// function and of a logistic regression, with settings a user would pick (the step counts are
// budgets, not tuned to the last step). The host-driven ones: host_optimizers_test.cpp.

#include <cmath>

#include <gtest/gtest.h>

#include "problems.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"
#include "symgrad/plugin/objective.hpp"

namespace symgrad {
namespace {


// Runs `steps` first-order steps on loss(x) from `start`; returns (final loss, final x).
std::pair<double, std::vector<double>> descend(const std::string& optimizer, const Settings& settings,
                                               const std::function<Value(Value)>& loss_of, std::vector<double> start,
                                               int steps) {
  Graph g;
  const auto n = static_cast<std::int64_t>(start.size());
  Value x = g.variable("x", {DType::f64, Shape{n}});
  Value loss = loss_of(x);
  VariableStore store;
  store.set("x", Tensor::from(DType::f64, Shape{n}, start));
  CompileOptions o;
  o.updates = build_optimizer_step(optimizer, settings, {}, g, {x}, gradients(loss, {x}), store).updates;
  Plan step = compile(g, {loss}, o);
  for (int i = 0; i < steps; ++i) step.run({}, &store);
  return {compile(g, {loss}).run({}, &store)[0].get(0), store.get("x").to_vector()};
}

struct Case {
  std::string optimizer;
  Settings settings;
};

std::string label(const Case& c) {
  std::string s = c.optimizer;
  for (const auto& [k, v] : c.settings) s += " " + k + "=" + to_string(v);
  return s;
}

TEST(FirstOrderConvergence, Parabola) {
  const std::vector<Case> cases = {{"sgd", {{"lr", 0.1}}},
                                   {"sgd", {{"lr", 0.1}, {"momentum", 0.9}}},
                                   {"sgd", {{"lr", 0.1}, {"momentum", 0.9}, {"nesterov", true}}},
                                   {"sgd", {{"lr", 0.1}, {"momentum", 0.9}, {"ewa", true}, {"bias_correction", true}}},
                                   {"adagrad", {{"lr", 0.5}}},
                                   {"rmsprop", {{"lr", 0.01}}},
                                   {"adam", {{"lr", 0.1}}},
                                   {"adamw", {{"lr", 0.1}}}};
  for (const auto& c : cases) {
    const auto [f, x] = descend(c.optimizer, c.settings, [](Value v) { return 0.5 * sum(square(v)); }, {1, -2}, 500);
    EXPECT_LT(std::abs(x[0]) + std::abs(x[1]), 1e-6) << label(c);
  }
}

TEST(FirstOrderConvergence, Rosenbrock) {
  const auto rosenbrock = testing::rosenbrock;
  const std::vector<std::pair<Case, double>> cases = {{{"sgd", {{"lr", 0.001}, {"momentum", 0.9}}}, 1e-6},
                                                      {{"adagrad", {{"lr", 0.5}}}, 1e-6},
                                                      {{"rmsprop", {{"lr", 0.001}}}, 3e-3},  // hovers at lr's scale
                                                      {{"adam", {{"lr", 0.01}}}, 1e-3},
                                                      {{"adamw", {{"lr", 0.01}, {"weight_decay", 0.0}}}, 1e-3}};
  for (const auto& [c, tol] : cases) {
    const auto [f, x] = descend(c.optimizer, c.settings, rosenbrock, {-1.2, 1}, 20000);
    EXPECT_NEAR(x[0], 1, tol) << label(c);
    EXPECT_NEAR(x[1], 1, 2 * tol) << label(c);
  }
}

// The logistic regression of host_optimizers_test.cpp: Newton's loss is the minimum; every
// first-order optimizer gets within 1e-6 of it.
TEST(FirstOrderConvergence, LogisticRegression) {
  const auto loss = testing::logistic_regression;
  double best = 0;
  {
    Graph g;
    Value w = g.variable("w", {DType::f64, Shape{3}});
    VariableStore store;
    store.set("w", Tensor(DType::f64, Shape{3}));
    GraphObjective objective(g, loss(w), {w}, store);
    auto newton = PluginRegistry::global().make_host_optimizer("newton");
    std::vector<double> x(3, 0.0);
    for (int i = 0; i < 20; ++i) best = newton->iterate(objective, x);
  }
  const std::vector<Case> cases = {{"sgd", {{"lr", 0.5}, {"momentum", 0.9}}}, {"adagrad", {{"lr", 0.5}}},
                                   {"rmsprop", {{"lr", 0.002}}}, {"adam", {{"lr", 0.05}}},
                                   {"adamw", {{"lr", 0.05}, {"weight_decay", 0.0}}}};
  for (const auto& c : cases) {
    const auto [f, w] = descend(c.optimizer, c.settings, loss, {0, 0, 0}, 3000);
    EXPECT_NEAR(f, best, 1e-6) << label(c);
  }
}

}  // namespace
}  // namespace symgrad
