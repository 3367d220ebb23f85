// The host-driven optimizer plugins (newton, cg, bfgs, lbfgs) through the real loader, on
// GraphObjectives: first iterations worked out by hand on f(x, y) = (x^2 + 4 y^2) / 2 (gradient
// (x, 4y), Hessian diag(1, 4)) from (1, 1), convergence on Rosenbrock and on a logistic
// regression, and the setups they refuse.

#include <cmath>

#include <gtest/gtest.h>

#include "problems.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"
#include "symgrad/plugin/objective.hpp"

namespace symgrad {
namespace {

// A problem: x [n] in f64, its loss, and an objective over x.
struct Problem {
  Graph graph;
  VariableStore store;
  Value x;
  std::unique_ptr<GraphObjective> objective;
  Problem(std::vector<double> start, const std::function<Value(Value)>& loss) {
    const auto n = static_cast<std::int64_t>(start.size());
    x = graph.variable("x", {DType::f64, Shape{n}});
    store.set("x", Tensor::from(DType::f64, Shape{n}, start));
    objective = std::make_unique<GraphObjective>(graph, loss(x), std::vector<Value>{x}, store);
  }
};

using testing::rosenbrock;

Value elliptic(Value x) { return 0.5 * (square(element(x, 0)) + 4.0 * square(element(x, 1))); }

// x after each of `iterations` iterations.
std::vector<std::vector<double>> run(const std::string& name, const Settings& s, Problem& p, int iterations) {
  EXPECT_TRUE(PluginRegistry::global().get(ComponentKind::optimizer, name).host_driven);
  auto opt = PluginRegistry::global().make_host_optimizer(name, s);
  std::vector<double> x = p.objective->current();
  std::vector<std::vector<double>> out;
  for (int i = 0; i < iterations; ++i) {
    opt->iterate(*p.objective, x);
    out.push_back(x);
  }
  return out;
}

void expect_point(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-12) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << i;
}

// Newton: g = (1, 4), H = diag(1, 4). With damping 1, d = -(1/2, 4/5) and t = 1 passes Armijo
// (f = 0.205 <= 2.5 - 1e-4 * 3.7): (0.5, 0.2). Undamped, d = -(1, 1): the minimum in one step.
TEST(NewtonPlugin, DampedAndUndampedFirstSteps) {
  Problem a({1, 1}, elliptic), b({1, 1}, elliptic);
  expect_point(run("newton", {{"damping", 1.0}}, a, 1)[0], {0.5, 0.2});
  expect_point(run("newton", {}, b, 1)[0], {0, 0});
}

// The first quasi-Newton step is steepest descent tried at t = min(1, 1/|g|_1) = 0.2: (0.8, 0.2),
// which meets both Wolfe conditions (f 0.4 <= 2.5 - 1e-4 * 0.2 * 17; |g1.d| = 4 <= 0.9 * 17).
// Then s = (-0.2, -0.8), y = (-0.2, -3.2), y.s = 2.6, H0 = 2.6 / 10.28 I, and the two-loop
// recursion (or the BFGS update of H0) gives d = (-0.25692906..., -0.23394193...), accepted at t = 1:
// x2 = (0.543070936845256, -0.0339419335528284). With one pair L-BFGS and BFGS agree.
// The saddle f(x, y) = x^2 - y^2 (g = (2x, -2y), H = diag(2, -2)) from (1, 0.5), as the book
// tells it (8.2.3): the pure Newton step d = -H^-1 g = (-1, -0.5) lands on the saddle (0, 0)
// exactly; the saddle-free step d = -|H|^-1 g = (-1, 0.5) doubles y, downhill along the negative
// curvature, to (0, 1), f = -1 (Armijo holds at t = 1: -1 <= 0.75 - 1e-4 * 2.5); damped Newton
// also leaves the saddle (H + mu I is positive definite only when it ignores the -2 direction's
// curvature), with |y| growing.
Value saddle(Value x) { return square(element(x, 0)) - square(element(x, 1)); }

TEST(NewtonPlugin, PureNewtonIsDrawnToTheSaddleSaddleFreeEscapes) {
  Problem a({1, 0.5}, saddle), b({1, 0.5}, saddle), c({1, 0.5}, saddle);
  expect_point(run("newton", {{"mode", std::string("pure")}}, a, 1)[0], {0, 0});
  expect_point(run("newton", {{"mode", std::string("saddle_free")}}, b, 1)[0], {0, 1});
  const auto damped = run("newton", {}, c, 3);
  EXPECT_GT(std::abs(damped.back()[1]), 0.5);
  EXPECT_LT(c.objective->value(damped.back()), 0.75);
  // the saddle turned by 45 degrees, f = x y (H = [[0, 1], [1, 0]], eigenvalues 1 and -1: |H| = I):
  // pure Newton d = -(y, x) lands on (0, 0); saddle-free d = -g = (-0.5, -1) to (0.5, -0.5), f = -0.25
  Problem e({1, 0.5}, [](Value x) { return element(x, 0) * element(x, 1); });
  Problem f({1, 0.5}, [](Value x) { return element(x, 0) * element(x, 1); });
  expect_point(run("newton", {{"mode", std::string("pure")}}, e, 1)[0], {0, 0});
  expect_point(run("newton", {{"mode", std::string("saddle_free")}}, f, 1)[0], {0.5, -0.5});
  // on the bowl, saddle-free Newton is Newton: the minimum in one step
  Problem d({1, 1}, elliptic);
  expect_point(run("newton", {{"mode", std::string("saddle_free")}}, d, 1)[0], {0, 0});
  EXPECT_THROW(run("newton", {{"mode", std::string("pure")}, {"damping", 1.0}}, d, 1), UsageError);
}

TEST(QuasiNewtonPlugins, FirstTwoIterations) {
  for (const char* name : {"lbfgs", "bfgs"}) {
    Problem p({1, 1}, elliptic);
    const auto xs = run(name, {}, p, 2);
    expect_point(xs[0], {0.8, 0.2});
    expect_point(xs[1], {0.54307093684525598, -0.033941933552828429}, 1e-12);
  }
}

// Conjugate gradient on an isotropic bowl |x|^2 / 2 from (1, 2): the first trial t = 1/3 fails the
// curvature condition (|g.d| = 10/3 > 0.1 * 5), the cubic through (0, 2.5, -5) and (1/3, 10/9, -10/3)
// is exact for a quadratic: t = 1, the minimum.
TEST(CgPlugin, IsotropicBowlInOneIteration) {
  Problem p({1, 2}, [](Value x) { return 0.5 * sum(square(x)); });
  expect_point(run("cg", {}, p, 1)[0], {0, 0}, 1e-12);
}

// From the classic start (-1.2, 1), within an iteration budget each (lbfgs with torch's default
// tolerance_change 1e-9 stops once f changes less, near f = 1e-10: it gets a tighter one here).
TEST(HostOptimizers, ReachRosenbrocksMinimumInFewIterations) {
  const std::vector<std::tuple<std::string, Settings, int>> runs = {
      {"newton", {}, 30},
      {"bfgs", {}, 60},
      {"lbfgs", {{"tolerance_change", 1e-15}}, 60},
      {"cg", {}, 200},
      {"cg", {{"beta", std::string("fletcher_reeves")}}, 2000}};
  for (const auto& [name, settings, iterations] : runs) {
    Problem p({-1.2, 1}, rosenbrock);
    const auto xs = run(name, settings, p, iterations);
    SCOPED_TRACE(name);
    expect_point(xs.back(), {1, 1}, 1e-5);
  }
}

// Logistic regression on 8 points (not separable: a finite minimum); every host optimizer reaches
// the loss Newton reaches, within 1e-9.
TEST(HostOptimizers, LogisticRegression) {
  const auto loss = testing::logistic_regression;
  double best = 0;
  for (const char* name : {"newton", "bfgs", "lbfgs", "cg"}) {
    Problem p({0, 0, 0}, loss);
    std::vector<double> x = p.objective->current();
    auto opt = PluginRegistry::global().make_host_optimizer(name);
    double f = 0;
    for (int i = 0; i < 100; ++i) f = opt->iterate(*p.objective, x);
    if (std::string(name) == "newton") best = f;
    EXPECT_NEAR(f, best, 1e-9) << name;
    EXPECT_LT(f, std::log(2.0)) << name;  // better than w = 0
  }
}

// Singular Hessians. (x + y - 1)^2: [[2, 2], [2, 2]] (semi-definite); Newton's step from (3, 0)
// lands on the line x + y = 1. sin(x + y) at the origin: the Hessian is 0 and the gradient (1, 1)
// is outside its range, so the damped step -(H + mu I)^-1 g grows as 1 / mu: it must stay bounded
// (it was -g / 1e-8 before the line search cut it down).
TEST(HostOptimizers, NewtonOnASingularHessianTakesABoundedStep) {
  auto newton = PluginRegistry::global().make_host_optimizer("newton");
  Problem line({3, 0}, [](Value x) { return square(element(x, 0) + element(x, 1) - 1.0); });
  std::vector<double> x = line.objective->current();
  EXPECT_LT(newton->iterate(*line.objective, x), 1e-6);
  EXPECT_NEAR(x[0] + x[1], 1.0, 1e-3);
  Problem flat({0, 0}, [](Value v) { return sin(element(v, 0) + element(v, 1)); });
  x = flat.objective->current();
  const double f = newton->iterate(*flat.objective, x);
  EXPECT_LT(f, 0.0);  // went downhill
  EXPECT_LE(std::hypot(x[0], x[1]), 10.0 + 1e-9) << x[0] << ", " << x[1];
}

class NoisyObjective final : public Objective {
 public:
  std::size_t size() const override { return 1; }
  double value(const std::vector<double>& x) override { return x[0] * x[0]; }
  double value_and_grad(const std::vector<double>& x, std::vector<double>& g) override {
    g = {2 * x[0]};
    return value(x);
  }
  void hessian_vector_product(const std::vector<double>&, const std::vector<double>& v, std::vector<double>& hv) override {
    hv = {2 * v[0]};
  }
  void hessian(const std::vector<double>&, std::vector<double>& h) override { h = {2}; }
  bool stochastic() const override { return true; }
};

TEST(HostOptimizers, RefuseWhatTheyCannotHonour) {
  auto& r = PluginRegistry::global();
  for (const char* name : {"newton", "bfgs", "lbfgs", "cg"}) {
    NoisyObjective noisy;
    std::vector<double> x = {1};
    try {
      r.make_host_optimizer(name)->iterate(noisy, x);
      ADD_FAILURE() << name;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("full-batch"), std::string::npos) << e.what();
    }
  }
  Problem big(std::vector<double>(30, 1.0), [](Value x) { return sum(square(x)); });
  std::vector<double> x = big.objective->current();
  EXPECT_THROW(r.make_host_optimizer("newton", {{"max_params", std::int64_t{10}}})->iterate(*big.objective, x), UsageError);
  // host-driven optimizers have no graph update, first-order ones no host loop: each says so
  Graph g;
  auto w = g.variable("w", {DType::f64, Shape{}});
  VariableStore store;
  store.set("w", Tensor::scalar(DType::f64, 1));
  auto said = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(said([&] { build_optimizer_step("lbfgs", {}, {}, g, {w}, gradients(square(w), {w}), store); })
                .find("'lbfgs' is host-driven"),
            std::string::npos);
  EXPECT_NE(said([&] { r.make_host_optimizer("adam"); }).find("'adam' is first-order"), std::string::npos);
  EXPECT_EQ(store.names(), std::vector<std::string>{"w"});
}

}  // namespace
}  // namespace symgrad
