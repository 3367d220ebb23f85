#pragma once
/// @file
/// Line searches for host-driven optimizers (Nocedal and Wright, "Numerical Optimization", 2nd ed.,
/// chapter 3): backtracking to the Armijo condition, and the strong Wolfe search (Algorithms 3.5
/// and 3.6, with the cubic interpolation of equation 3.59 inside the bracket).

#include <cstddef>
#include <vector>

#include "symgrad/plugin/components.hpp"
#include "symgrad/plugin/vectors.hpp"  // dot, axpy, max_abs: the host loops share them

namespace symgrad {

/// Where a line search stopped: x + t d, its value and gradient.
struct LineSearchResult {
  double t = 0.0;
  double f = 0.0;
  std::vector<double> g;  ///< the gradient at x + t d (strong Wolfe only)
  int evaluations = 0;
  bool success = false;  ///< the conditions hold (else: the best point found)
};

/// The searches below reuse their working vectors between calls (per thread), and the `out`
/// forms reuse out.g's storage: a host loop that keeps its result object allocates nothing per
/// iteration once warm (fresh pages are expensive: a 14 MB gradient costs more to fault in than
/// the MLP's whole value_and_grad).

/// f(x + t d) <= f(x) + c1 t g.d, from t0 shrinking by `shrink`; d must be a descent direction.
LineSearchResult backtracking(Objective& f, const std::vector<double>& x, double fx, const std::vector<double>& g,
                              const std::vector<double>& d, double t0 = 1.0, double c1 = 1e-4, double shrink = 0.5,
                              int max_evaluations = 50);

/// The strong Wolfe conditions: sufficient decrease (c1) and |g(x + t d).d| <= c2 |g.d|; stops
/// early when the bracket shrinks below tolerance_change.
LineSearchResult strong_wolfe(Objective& f, const std::vector<double>& x, double fx, const std::vector<double>& g,
                              const std::vector<double>& d, double t0 = 1.0, double c1 = 1e-4, double c2 = 0.9,
                              double tolerance_change = 1e-9, int max_evaluations = 25);
/// The same, into `out` (its gradient's storage reused).
void strong_wolfe(Objective& f, const std::vector<double>& x, double fx, const std::vector<double>& g,
                  const std::vector<double>& d, double t0, double c1, double c2, double tolerance_change,
                  int max_evaluations, LineSearchResult& out);

}  // namespace symgrad
