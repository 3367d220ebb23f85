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
#include <symgrad/train/line_search.hpp>

namespace {

using namespace symgrad;

class Lbfgs final : public Optimizer {
 public:
  explicit Lbfgs(const Hyperparams& h)
      : lr_(h.real("lr")), history_(static_cast<std::size_t>(h.integer("history_size"))),
        tolerance_grad_(h.real("tolerance_grad")), tolerance_change_(h.real("tolerance_change")),
        wolfe_(h.string("line_search") == "strong_wolfe") {}
  double initial_lr() const override { return lr_; }
  bool host_driven() const override { return true; }

  double iterate(Objective& f, std::vector<double>& x) override {
    if (f.stochastic()) throw UsageError("lbfgs needs one fixed (full-batch) objective, not minibatches");
    const bool first = x != x_;
    if (first) {
      fx_ = f.value_and_grad(x, g_);
      s_.clear(), y_.clear();
      done_ = false;
    }
    if (done_ || max_abs(g_) <= tolerance_grad_) return done_ = true, x_ = x, fx_;
    std::vector<double>& d = direction();
    double l1 = 0;
    for (double e : g_) l1 += std::abs(e);
    const double t0 = first ? std::min(1.0, 1.0 / l1) * lr_ : lr_;
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
    for (std::size_t i = 0; i < x.size(); ++i) x[i] += t * d[i];
    // the new pair (t d, g+ - g), in the storage of the oldest one once the history is full
    std::vector<double> s, y;
    if (s_.size() == history_) {
      s = std::move(s_.front()), y = std::move(y_.front());
      s_.pop_front(), y_.pop_front();
    }
    s.resize(d.size()), y.resize(d.size());
    for (std::size_t i = 0; i < d.size(); ++i) s[i] = t * d[i], y[i] = gn[i] - g_[i];
    if (dot(y, s) > 1e-10) s_.push_back(std::move(s)), y_.push_back(std::move(y));  // keep the curvature pair
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
  // d = -H g by the two-loop recursion over the stored pairs, H0 = (y.s / y.y) I.
  std::vector<double>& direction() {
    std::vector<double>& q = q_;
    q.resize(g_.size());
    for (std::size_t i = 0; i < q.size(); ++i) q[i] = -g_[i];
    if (s_.empty()) return q;
    const std::size_t m = s_.size();
    alpha_.resize(m), rho_.resize(m);
    std::vector<double>& alpha = alpha_;
    std::vector<double>& rho = rho_;
    for (std::size_t k = m; k-- > 0;) {
      rho[k] = 1.0 / dot(y_[k], s_[k]);
      alpha[k] = rho[k] * dot(s_[k], q);
      for (std::size_t i = 0; i < q.size(); ++i) q[i] -= alpha[k] * y_[k][i];
    }
    const double h0 = dot(y_.back(), s_.back()) / dot(y_.back(), y_.back());
    for (double& e : q) e *= h0;
    for (std::size_t k = 0; k < m; ++k) {
      const double beta = rho[k] * dot(y_[k], q);
      for (std::size_t i = 0; i < q.size(); ++i) q[i] += s_[k][i] * (alpha[k] - beta);
    }
    return q;
  }

  double lr_;
  std::size_t history_;
  double tolerance_grad_, tolerance_change_;
  bool wolfe_, done_ = false;
  double fx_ = 0;
  std::vector<double> x_, g_, q_, alpha_, rho_, trial_;
  LineSearchResult ls_;
  std::deque<std::vector<double>> s_, y_;
};

void register_components(PluginRegistrar& r) {
  r.add_optimizer("lbfgs", "limited-memory BFGS with a strong Wolfe line search (torch.optim.LBFGS)",
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
