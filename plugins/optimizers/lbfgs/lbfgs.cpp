// lbfgs: limited-memory BFGS (Liu and Nocedal, "On the limited memory BFGS method for large scale
// optimization", 1989; Nocedal and Wright, Algorithm 7.4) with the semantics of torch.optim.LBFGS
// (PyTorch 1.13) and line_search_fn='strong_wolfe'. One call of iterate() is one of torch's inner
// iterations: with (s, y) the last step and gradient change, stored when y.s > 1e-10 (the oldest
// dropped beyond history_size), d = -H g by the two-loop recursion with H0 = (y.s / y.y) I; the
// first step tries t = min(1, 1 / |g|_1) lr, later ones t = lr; stops when max |g| <= tolerance_grad,
// or when the step or the change of the loss is below tolerance_change.
#include <algorithm>
#include <cmath>
#include <deque>
#include <vector>

#include <symgrad/plugin/plugin.hpp>
#include <symgrad/plugin/line_search.hpp>

namespace {

using namespace symgrad;

class Lbfgs final : public HostOptimizer {
 public:
  explicit Lbfgs(const Hyperparams& h)
      : lr_(h.real("lr")), history_(static_cast<std::size_t>(h.integer("history_size"))),
        tolerance_grad_(h.real("tolerance_grad")), tolerance_change_(h.real("tolerance_change")),
        wolfe_(h.string("line_search") == "strong_wolfe") {}

  double iterate(Objective& f, std::vector<double>& x) override {
    if (f.stochastic()) throw UsageError("lbfgs needs one fixed (full-batch) objective, not minibatches");
    const bool first = x != x_;
    if (first) {
      fx_ = f.value_and_grad(x, g_);
      pairs_.clear();
      done_ = false;
    }
    if (done_ || max_abs(g_) <= tolerance_grad_) return done_ = true, x_ = x, fx_;
    std::vector<double>& d = direction();
    double t0 = lr_;
    if (first) {
      double l1 = 0;
      for (double e : g_) l1 += std::abs(e);
      t0 = std::min(1.0, 1.0 / l1) * lr_;
    }
    const double gtd = dot(g_, d);
    if (gtd > -tolerance_change_) return done_ = true, x_ = x, fx_;  // no descent left
    double t = t0, fn = 0;
    std::vector<double>& gn = ls_.g;  // kept between iterations: no fresh pages per step
    if (wolfe_) {
      strong_wolfe(f, x, fx_, g_, d, t0, 1e-4, 0.9, tolerance_change_, 25, ls_);
      t = ls_.t, fn = ls_.f;
    } else {
      axpy_into(trial_, x, t, d);
      fn = f.value_and_grad(trial_, gn);
    }
    if (t == 0) return done_ = true, x_ = x, fx_;
    add_scaled(x, t, d);
    // the new pair (t d, g+ - g), in the storage of the oldest one once the history is full
    Pair p;
    if (pairs_.size() == history_) {
      p = std::move(pairs_.front());
      pairs_.pop_front();
    }
    scale_into(p.s, t, d);
    axpy_into(p.y, gn, -1.0, g_);
    const double ys = dot(p.y, p.s);
    if (ys > 1e-10) {  // keep the curvature pair, with what the recursion needs of it
      p.rho = 1.0 / ys;
      p.h0 = ys / dot(p.y, p.y);
      pairs_.push_back(std::move(p));
    }
    if (max_abs(gn) <= tolerance_grad_ || t * max_abs(d) <= tolerance_change_ ||
        std::abs(fn - fx_) < tolerance_change_) {
      done_ = true;
    }
    g_.swap(gn);
    fx_ = fn;
    x_ = x;
    return fx_;
  }

 private:
  // d = -H g by the two-loop recursion over the stored pairs, H0 = (y.s / y.y) I of the newest.
  // Each update of q and the dot product the next step needs share one pass over memory.
  std::vector<double>& direction() {
    std::vector<double>& q = q_;
    scale_into(q, -1.0, g_);
    if (pairs_.empty()) return q;
    const std::size_t m = pairs_.size();
    alpha_.resize(m);
    double sq = dot(pairs_[m - 1].s, q);
    for (std::size_t k = m; k-- > 0;) {
      alpha_[k] = pairs_[k].rho * sq;
      sq = add_scaled_dot(q, -alpha_[k], pairs_[k].y, pairs_[k > 0 ? k - 1 : 0].s);
    }
    double yq = 0;
    {
      const double h0 = pairs_.back().h0;
      scale_into(q, h0, q);
      yq = dot(pairs_[0].y, q);
    }
    for (std::size_t k = 0; k < m; ++k) {
      const double beta = pairs_[k].rho * yq;
      yq = add_scaled_dot(q, alpha_[k] - beta, pairs_[k].s, pairs_[k + 1 < m ? k + 1 : k].y);
    }
    return q;
  }

  // A curvature pair: s = x+ - x, y = g+ - g, rho = 1 / y.s, h0 = y.s / y.y.
  struct Pair {
    std::vector<double> s, y;
    double rho = 0, h0 = 0;
  };

  double lr_;
  std::size_t history_;
  double tolerance_grad_, tolerance_change_;
  bool wolfe_, done_ = false;
  double fx_ = 0;
  std::vector<double> x_, g_, q_, alpha_, trial_;
  LineSearchResult ls_;
  std::deque<Pair> pairs_;
};

void register_components(PluginRegistrar& r) {
  r.add_host_optimizer("lbfgs", "limited-memory BFGS with a strong Wolfe line search (torch.optim.LBFGS)",
                  Schema{real_param("lr", 1.0, "step length tried first").greater_than(0),
                         int_param("history_size", 100, "curvature pairs kept").at_least(1),
                         real_param("tolerance_grad", 1e-7, "stop when max |g| is at most this").at_least(0),
                         real_param("tolerance_change", 1e-9, "stop when the step or the loss changes less").at_least(0),
                         choice_param("line_search", "strong_wolfe", {"strong_wolfe", "none"},
                                      "strong_wolfe, or none for fixed steps of lr")},
                  [](const Hyperparams& h) { return std::make_unique<Lbfgs>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("lbfgs", "1.0.0", register_components)
