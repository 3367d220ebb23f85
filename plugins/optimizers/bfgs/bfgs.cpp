// bfgs: the Broyden-Fletcher-Goldfarb-Shanno method with a dense inverse-Hessian approximation
// (Nocedal and Wright, "Numerical Optimization", Algorithm 6.1): d = -H g, a strong Wolfe line
// search, then with s = t d, y = g+ - g, rho = 1 / y.s:
//   H = (I - rho s y^T) H (I - rho y s^T) + rho s s^T
// H starts as I, scaled by y.s / y.y before the first update (N&W 6.20); an update with
// y.s <= 1e-10 is skipped. The first step tries t = min(1, 1 / |g|_1), later ones t = 1.
#include <algorithm>
#include <cmath>
#include <vector>

#include <symgrad/plugin/plugin.hpp>
#include <symgrad/plugin/line_search.hpp>

namespace {

using namespace symgrad;

class Bfgs final : public HostOptimizer {
 public:
  explicit Bfgs(const Hyperparams& h)
      : max_params_(static_cast<std::size_t>(h.integer("max_params"))), tolerance_grad_(h.real("tolerance_grad")) {}

  double iterate(Objective& f, std::vector<double>& x) override {
    const std::size_t n = x.size();
    if (n > max_params_) {
      throw UsageError("bfgs keeps a dense n x n matrix: " + std::to_string(n) + " parameters exceed max_params = " +
                       std::to_string(max_params_) + " (use lbfgs)");
    }
    if (f.stochastic()) throw UsageError("bfgs needs one fixed (full-batch) objective, not minibatches");
    if (x != x_) {  // a new start
      fx_ = f.value_and_grad(x, g_);
      h_.assign(n * n, 0.0);
      for (std::size_t i = 0; i < n; ++i) h_[i * n + i] = 1.0;
      updates_ = 0;
    }
    if (max_abs(g_) <= tolerance_grad_) return x_ = x, fx_;
    std::vector<double> d(n, 0.0);  // d = -H g
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) d[i] -= h_[i * n + j] * g_[j];
    }
    double l1 = 0;
    for (double e : g_) l1 += std::abs(e);
    const double t0 = updates_ == 0 && x != x_ ? std::min(1.0, 1.0 / l1) : 1.0;
    strong_wolfe(f, x, fx_, g_, d, t0, 1e-4, 0.9, 1e-9, 25, ls_);
    const LineSearchResult& ls = ls_;
    if (ls.t == 0) return x_ = x, fx_;
    for (std::size_t i = 0; i < n; ++i) x[i] += ls.t * d[i];
    std::vector<double> s(n), y(n);
    for (std::size_t i = 0; i < n; ++i) s[i] = ls.t * d[i], y[i] = ls.g[i] - g_[i];
    const double ys = dot(y, s);
    if (ys > 1e-10) {
      if (updates_ == 0) {  // H0 = (y.s / y.y) I
        const double scale = ys / dot(y, y);
        for (std::size_t i = 0; i < n; ++i) h_[i * n + i] = scale;
      }
      update(s, y, 1.0 / ys);
      ++updates_;
    }
    fx_ = ls.f;
    g_.swap(ls_.g);
    x_ = x;
    return fx_;
  }

 private:
  // H = (I - rho s y^T) H (I - rho y s^T) + rho s s^T, expanded:
  // H - rho (s (y^T H) + (H y) s^T) + (rho^2 y^T H y + rho) s s^T
  void update(const std::vector<double>& s, const std::vector<double>& y, double rho) {
    const std::size_t n = s.size();
    std::vector<double> hy(n, 0.0), yh(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) hy[i] += h_[i * n + j] * y[j], yh[j] += y[i] * h_[i * n + j];
    }
    const double yhy = dot(y, hy);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) {
        h_[i * n + j] += -rho * (s[i] * yh[j] + hy[i] * s[j]) + (rho * rho * yhy + rho) * s[i] * s[j];
      }
    }
  }

  std::size_t max_params_;
  double tolerance_grad_, fx_ = 0;
  int updates_ = 0;
  std::vector<double> x_, g_, h_;
  LineSearchResult ls_;
};

void register_components(PluginRegistrar& r) {
  r.add_host_optimizer("bfgs", "quasi-Newton with a dense inverse-Hessian approximation and a strong Wolfe line search",
                  Schema{int_param("max_params", 5000, "largest problem it accepts (the matrix is dense)").at_least(1),
                         real_param("tolerance_grad", 1e-7, "stop when max |g| is at most this").at_least(0)},
                  [](const Hyperparams& h) { return std::make_unique<Bfgs>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("bfgs", "1.0.0", register_components)
