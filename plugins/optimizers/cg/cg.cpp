// cg: nonlinear conjugate gradient (Fletcher and Reeves, "Function minimization by conjugate
// gradients", 1964; Polak and Ribiere, 1969, with the PR+ restart of Gilbert and Nocedal, 1992;
// Nocedal and Wright, "Numerical Optimization", section 5.2), with a strong Wolfe line search
// (c2 = 0.1) and restarts every `restart` iterations or when the direction is not a descent.
#include <algorithm>
#include <cmath>
#include <vector>

#include <symgrad/plugin/plugin.hpp>
#include <symgrad/plugin/line_search.hpp>

namespace {

using namespace symgrad;

class Cg final : public HostOptimizer {
 public:
  explicit Cg(const Hyperparams& h)
      : pr_plus_(h.string("beta") == "polak_ribiere_plus"), restart_(h.integer("restart")),
        tolerance_grad_(h.real("tolerance_grad")) {}

  double iterate(Objective& f, std::vector<double>& x) override {
    if (f.stochastic()) throw UsageError("cg needs one fixed (full-batch) objective, not minibatches");
    if (x != x_) {  // a new start: steepest descent
      fx_ = f.value_and_grad(x, g_);
      d_.assign(g_.size(), 0.0);
      for (std::size_t i = 0; i < g_.size(); ++i) d_[i] = -g_[i];
      k_ = 0;
      t_ = std::min(1.0, 1.0 / std::max(1e-300, l1(g_)));
    }
    if (max_abs(g_) <= tolerance_grad_) return x_ = x, fx_;
    strong_wolfe(f, x, fx_, g_, d_, t_, 1e-4, 0.1, 1e-9, 25, ls_);
    const LineSearchResult& ls = ls_;
    if (ls.t == 0) return x_ = x, fx_;  // no decrease along d
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += ls.t * d_[i];
    std::vector<double>& gn = ls_.g;
    // beta: FR = |g+|^2 / |g|^2;  PR+ = max(0, g+.(g+ - g) / |g|^2)
    const double gg = dot(g_, g_);
    double beta = pr_plus_ ? std::max(0.0, (dot(gn, gn) - dot(gn, g_)) / gg) : dot(gn, gn) / gg;
    ++k_;
    const std::int64_t period = restart_ > 0 ? restart_ : static_cast<std::int64_t>(x.size());
    if (k_ % period == 0) beta = 0;  // restart with steepest descent
    const double slope_before = dot(g_, d_);
    for (std::size_t i = 0; i < d_.size(); ++i) d_[i] = -gn[i] + beta * d_[i];
    if (!(dot(gn, d_) < 0)) {  // not a descent direction: restart
      for (std::size_t i = 0; i < d_.size(); ++i) d_[i] = -gn[i];
    }
    t_ = std::min(1.0, ls.t * slope_before / dot(gn, d_));  // N&W (3.60): the same first-order change
    if (!(t_ > 0) || !std::isfinite(t_)) t_ = 1.0;
    fx_ = ls.f;
    g_.swap(gn);
    x_ = x;
    return fx_;
  }

 private:
  static double l1(const std::vector<double>& v) {
    double s = 0;
    for (double e : v) s += std::abs(e);
    return s;
  }
  bool pr_plus_;
  std::int64_t restart_, k_ = 0;
  double tolerance_grad_, fx_ = 0, t_ = 1;
  std::vector<double> x_, g_, d_;
  LineSearchResult ls_;
};

void register_components(PluginRegistrar& r) {
  r.add_host_optimizer("cg", "nonlinear conjugate gradient (Fletcher-Reeves or Polak-Ribiere+) with restarts",
                  Schema{choice_param("beta", "polak_ribiere_plus", {"fletcher_reeves", "polak_ribiere_plus"},
                                      "formula of the conjugacy coefficient"),
                         int_param("restart", 0, "restart with steepest descent every this many iterations (0: n)").at_least(0),
                         real_param("tolerance_grad", 1e-7, "stop when max |g| is at most this").at_least(0)},
                  [](const Hyperparams& h) { return std::make_unique<Cg>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("cg", "1.0.0", register_components)
