#include "symgrad/plugin/line_search.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

namespace symgrad {

LineSearchResult backtracking(Objective& f, const std::vector<double>& x, double fx, const std::vector<double>& g,
                              const std::vector<double>& d, double t0, double c1, double shrink, int max_evaluations) {
  const double slope = dot(g, d);
  if (!(slope < 0)) throw UsageError(fmt::format("backtracking needs a descent direction (g.d = {})", slope));
  LineSearchResult r;
  r.t = t0;
  thread_local std::vector<double> xt;
  for (; r.evaluations < max_evaluations; r.t *= shrink) {
    axpy_into(xt, x, r.t, d);
    r.f = f.value(xt);
    ++r.evaluations;
    if (std::isfinite(r.f) && r.f <= fx + c1 * r.t * slope) {
      r.success = true;
      return r;
    }
  }
  return r;
}

namespace {

// The minimizer of the cubic through (t1, f1, d1) and (t2, f2, d2), kept inside [lo, hi]
// (Nocedal and Wright, equation 3.59); the midpoint when the cubic has no minimizer.
double cubic_min(double t1, double f1, double d1, double t2, double f2, double d2, double lo, double hi) {
  const double e1 = d1 + d2 - 3 * (f1 - f2) / (t1 - t2);
  const double sq = e1 * e1 - d1 * d2;
  if (sq < 0) return (lo + hi) / 2;
  const double e2 = std::copysign(std::sqrt(sq), t2 - t1);
  const double t = t2 - (t2 - t1) * ((d2 + e2 - e1) / (d2 - d1 + 2 * e2));
  return std::isfinite(t) ? std::clamp(t, lo, hi) : (lo + hi) / 2;
}

}  // namespace

LineSearchResult strong_wolfe(Objective& f, const std::vector<double>& x, double fx, const std::vector<double>& g,
                              const std::vector<double>& d, double t0, double c1, double c2, double tolerance_change,
                              int max_evaluations) {
  LineSearchResult r;
  strong_wolfe(f, x, fx, g, d, t0, c1, c2, tolerance_change, max_evaluations, r);
  return r;
}

void strong_wolfe(Objective& f, const std::vector<double>& x, double fx, const std::vector<double>& g,
                  const std::vector<double>& d, double t0, double c1, double c2, double tolerance_change,
                  int max_evaluations, LineSearchResult& r) {
  const double d0 = dot(g, d);
  if (!(d0 < 0)) throw UsageError(fmt::format("the strong Wolfe search needs a descent direction (g.d = {})", d0));
  r.t = 0, r.f = fx, r.evaluations = 0, r.success = false;
  // working vectors kept between calls: the trial point, its gradient, and the gradients at the
  // previous trial and at the low end of the bracket
  thread_local std::vector<double> xt, gt, g_prev, g_lo;
  auto eval = [&](double t, double& ft, double& dt) {
    axpy_into(xt, x, t, d);
    ft = f.value_and_grad(xt, gt);
    dt = dot(gt, d);
    ++r.evaluations;
  };
  auto accept = [&](double t, double ft, const std::vector<double>& gv, bool success) {
    r.t = t, r.f = ft, r.success = success;
    r.g.assign(gv.begin(), gv.end());
  };
  // Bracketing (Algorithm 3.5): grow t until the interval [prev, t] must hold a Wolfe point.
  double t_prev = 0, f_prev = fx, d_prev = d0, t = t0, ft = 0, dt = 0;
  g_prev.assign(g.begin(), g.end());
  double lo = 0, f_lo = fx, d_lo = d0, hi = 0, f_hi = 0, d_hi = 0;
  g_lo.assign(g.begin(), g.end());
  bool bracketed = false;
  while (r.evaluations < max_evaluations) {
    eval(t, ft, dt);
    if (!std::isfinite(ft) || ft > fx + c1 * t * d0 || (r.evaluations > 1 && ft >= f_prev)) {
      lo = t_prev, f_lo = f_prev, d_lo = d_prev, g_lo.swap(g_prev);
      hi = t, f_hi = ft, d_hi = dt;
      bracketed = true;
      break;
    }
    if (std::abs(dt) <= -c2 * d0) return accept(t, ft, gt, true);
    if (dt >= 0) {
      lo = t, f_lo = ft, d_lo = dt, g_lo.swap(gt);
      hi = t_prev, f_hi = f_prev, d_hi = d_prev;
      bracketed = true;
      break;
    }
    const double next = cubic_min(t_prev, f_prev, d_prev, t, ft, dt, t + 0.01 * (t - t_prev), 10 * t);
    t_prev = t, f_prev = ft, d_prev = dt, g_prev.swap(gt);
    t = next;
  }
  if (!bracketed) return accept(t_prev, f_prev, g_prev, false);  // out of evaluations while growing
  // Zoom (Algorithm 3.6): shrink [lo, hi] around a Wolfe point; lo always satisfies decrease.
  while (r.evaluations < max_evaluations && std::abs(hi - lo) * std::max(1.0, max_abs(d)) > tolerance_change) {
    const double a = std::min(lo, hi), b = std::max(lo, hi);
    double tj = cubic_min(lo, f_lo, d_lo, hi, f_hi, d_hi, a, b);
    if (std::min(tj - a, b - tj) < 0.1 * (b - a)) tj = (a + b) / 2;  // keep off the ends
    double fj = 0, dj = 0;
    eval(tj, fj, dj);
    if (!std::isfinite(fj) || fj > fx + c1 * tj * d0 || fj >= f_lo) {
      hi = tj, f_hi = fj, d_hi = dj;
    } else {
      if (std::abs(dj) <= -c2 * d0) return accept(tj, fj, gt, true);
      if (dj * (hi - lo) >= 0) hi = lo, f_hi = f_lo, d_hi = d_lo;
      lo = tj, f_lo = fj, d_lo = dj, g_lo.swap(gt);
    }
  }
  accept(lo, f_lo, g_lo, false);  // the best point with sufficient decrease
}

}  // namespace symgrad
