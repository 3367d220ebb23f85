// newton: damped Newton's method (Levenberg's damping, "A Method for the Solution of Certain
// Non-Linear Problems in Least Squares", 1944; Nocedal and Wright, "Numerical Optimization",
// sections 3.3-3.4): the exact Hessian by double symbolic differentiation, d = -(H + mu I)^-1 g,
// then a backtracking line search. Positive definiteness is judged relative to the Hessian's scale
// s = max |H_ij| (every Cholesky pivot > 1e-12 n s), so roundoff never passes a singular H; when
// it is not positive definite, mu starts at 1e-6 max(s, |g|_inf) and grows tenfold until it is,
// and until the step is no longer than 10 max(1, |x|) (a singular H with g outside its range gives
// steps that grow as 1 / mu).
//
// mode = "pure": the undamped step d = -H^-1 g at t = 1 (LU with partial pivoting), whatever H's
// signs: it jumps to the nearest stationary point, a saddle as readily as a minimum (the book's
// point, "Deep Learning" 8.2.3). mode = "saddle_free": d = -|H|^-1 g with |H| = V |Lambda| V^T
// (Dauphin et al., "Identifying and attacking the saddle point problem", 2014): H's eigenvalues
// by cyclic Jacobi rotations, their magnitudes floored at 1e-8 of the largest, then the line
// search: along a negative-curvature direction it moves downhill, away from the saddle.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <symgrad/plugin/plugin.hpp>
#include <symgrad/plugin/line_search.hpp>
#include <symgrad/plugin/spectrum.hpp>

namespace {

using namespace symgrad;

// Solves A z = b for symmetric A by Cholesky; false when A is not positive definite: a pivot at
// or below `tol`.
bool cholesky_solve(std::vector<double> a, std::size_t n, const std::vector<double>& b, std::vector<double>& z,
                    double tol) {
  for (std::size_t j = 0; j < n; ++j) {  // A = L L^T, L stored in the lower triangle of a
    double d = a[j * n + j];
    for (std::size_t k = 0; k < j; ++k) d -= a[j * n + k] * a[j * n + k];
    if (!(d > tol)) return false;
    a[j * n + j] = std::sqrt(d);
    for (std::size_t i = j + 1; i < n; ++i) {
      double s = a[i * n + j];
      for (std::size_t k = 0; k < j; ++k) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / a[j * n + j];
    }
  }
  z = b;
  for (std::size_t i = 0; i < n; ++i) {  // L w = b
    for (std::size_t k = 0; k < i; ++k) z[i] -= a[i * n + k] * z[k];
    z[i] /= a[i * n + i];
  }
  for (std::size_t i = n; i-- > 0;) {  // L^T z = w
    for (std::size_t k = i + 1; k < n; ++k) z[i] -= a[k * n + i] * z[k];
    z[i] /= a[i * n + i];
  }
  return true;
}

// Solves A z = b (A n x n, row-major) by LU with partial pivoting; false when A is singular: a
// pivot at or below `tol`.
bool lu_solve(std::vector<double> a, std::size_t n, const std::vector<double>& b, std::vector<double>& z, double tol) {
  z = b;
  for (std::size_t j = 0; j < n; ++j) {
    std::size_t p = j;
    for (std::size_t i = j + 1; i < n; ++i) {
      if (std::abs(a[i * n + j]) > std::abs(a[p * n + j])) p = i;
    }
    if (!(std::abs(a[p * n + j]) > tol)) return false;
    if (p != j) {
      for (std::size_t k = 0; k < n; ++k) std::swap(a[j * n + k], a[p * n + k]);
      std::swap(z[j], z[p]);
    }
    for (std::size_t i = j + 1; i < n; ++i) {
      const double m = a[i * n + j] / a[j * n + j];
      for (std::size_t k = j; k < n; ++k) a[i * n + k] -= m * a[j * n + k];
      z[i] -= m * z[j];
    }
  }
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t k = i + 1; k < n; ++k) z[i] -= a[i * n + k] * z[k];
    z[i] /= a[i * n + i];
  }
  return true;
}

// d = -|H|^-1 g: g in H's eigenbasis, each component divided by its eigenvalue's magnitude.
std::vector<double> saddle_free_direction(const std::vector<double>& h, std::size_t n, const std::vector<double>& g) {
  std::vector<double> values, v, d(n, 0.0);
  symmetric_eigen(h, n, values, v);
  double largest = 0;
  for (double l : values) largest = std::max(largest, std::abs(l));
  const double floor = std::max(1e-8 * largest, 1e-300);
  for (std::size_t k = 0; k < n; ++k) {
    double c = 0;  // v_k . g
    for (std::size_t i = 0; i < n; ++i) c += v[i * n + k] * g[i];
    c /= std::max(std::abs(values[k]), floor);
    for (std::size_t i = 0; i < n; ++i) d[i] -= c * v[i * n + k];
  }
  return d;
}

class Newton final : public HostOptimizer {
 public:
  explicit Newton(const Hyperparams& h)
      : damping_(h.real("damping")), max_params_(static_cast<std::size_t>(h.integer("max_params"))),
        mode_(h.string("mode")) {
    if (mode_ != "damped" && damping_ != 0) throw UsageError("newton: damping applies to mode = damped only");
  }

  double iterate(Objective& f, std::vector<double>& x) override {
    const std::size_t n = x.size();
    if (n > max_params_) {
      throw UsageError("newton forms the dense Hessian: " + std::to_string(n) + " parameters exceed max_params = " +
                       std::to_string(max_params_) + " (use lbfgs or cg)");
    }
    if (f.stochastic()) throw UsageError("newton needs one fixed (full-batch) objective, not minibatches");
    std::vector<double> g, h, d;
    const double fx = f.value_and_grad(x, g);
    f.hessian(x, h);
    double scale = 0, gmax = 0, xnorm = 0;
    for (double v : h) scale = std::max(scale, std::abs(v));
    for (double v : g) gmax = std::max(gmax, std::abs(v));
    for (double v : x) xnorm += v * v;
    const double tol = 1e-12 * static_cast<double>(n) * scale, longest = 10 * std::max(1.0, std::sqrt(xnorm));
    if (mode_ == "pure") {  // the full step to the stationary point of the quadratic model
      if (!lu_solve(h, n, g, d, tol)) throw Error("newton (mode = pure): the Hessian is singular here: no Newton step");
      for (std::size_t i = 0; i < n; ++i) x[i] -= d[i];
      return f.value(x);
    }
    if (mode_ == "saddle_free") {
      d = saddle_free_direction(h, n, g);
      if (!(dot(g, d) < 0)) return fx;  // at a stationary point
      const LineSearchResult ls = backtracking(f, x, fx, g, d, 1.0);
      if (!ls.success) return fx;
      for (std::size_t i = 0; i < n; ++i) x[i] += ls.t * d[i];
      return ls.f;
    }
    const double first = 1e-6 * std::max({scale, gmax, 1e-300});
    for (double mu = damping_;; mu = std::max(10 * mu, first)) {  // H + mu I, positive definite
      std::vector<double> a = h;
      for (std::size_t i = 0; i < n; ++i) a[i * n + i] += mu;
      if (cholesky_solve(a, n, g, d, tol) && (mu == 0 || std::sqrt(dot(d, d)) <= longest)) break;
      if (mu > 1e12 * std::max({scale, gmax, 1.0})) {
        throw Error("newton: no positive-definite damping of the Hessian found (mu > 1e12 times its scale)");
      }
    }
    for (double& e : d) e = -e;  // d = -(H + mu I)^-1 g
    if (!(dot(g, d) < 0)) return fx;  // at a stationary point
    const LineSearchResult ls = backtracking(f, x, fx, g, d, 1.0);
    if (!ls.success) return fx;
    for (std::size_t i = 0; i < n; ++i) x[i] += ls.t * d[i];
    return ls.f;
  }

 private:
  double damping_;
  std::size_t max_params_;
  std::string mode_;
};

void register_components(PluginRegistrar& r) {
  r.add_host_optimizer("newton", "damped Newton's method with the exact Hessian and a backtracking line search",
                  Schema{real_param("damping", 0.0, "mu in H + mu I (raised until positive definite)").at_least(0),
                         int_param("max_params", 5000, "largest problem it accepts (the Hessian is dense)").at_least(1),
                         choice_param("mode", "damped", {"damped", "pure", "saddle_free"},
                                      "damped (H + mu I), pure (-H^-1 g at t = 1: drawn to saddles) or saddle_free "
                                      "(-|H|^-1 g, Dauphin et al. 2014)")},
                  [](const Hyperparams& h) { return std::make_unique<Newton>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("newton", "1.0.0", register_components)
