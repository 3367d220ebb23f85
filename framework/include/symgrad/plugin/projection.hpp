#pragma once
/// @file
/// Norm constraints as explicit re-projection after each step (Goodfellow, Bengio and Courville,
/// "Deep Learning", section 7.2; Srebro and Shraibman 2005, Hinton et al. 2012 for max-norm; Lasagne's
/// norm_constraint, Keras's MaxNorm), for regularizer plugins such as max_norm, l2_ball and l1_ball.
///   per unit: the norm of each unit's incoming weights (a dense W [in, units]: each column; a
///             convolution W [out, in, k, k]: each output channel); whole: the tensor's norm.
///   L2:  W <- W min(1, c / ||W||_2)
///   L1:  W <- W if ||W||_1 <= c, else sign(W) max(|W| - theta, 0) with theta such that
///        sum max(|W| - theta, 0) = c (Duchi, Shalev-Shwartz, Singer and Chandra, ICML 2008), theta
///        found by bisection in the step (48 halvings of [0, max |W|]: below f32 resolution).

#include <string>

#include "symgrad/ops/ops.hpp"
#include "symgrad/plugin/hyperparams.hpp"
#include "symgrad/plugin/optimizer.hpp"  // name_matches
#include "symgrad/plugin/regularizer.hpp"

namespace symgrad {

/// The axes a norm is taken over: all but the unit axis per unit, all of them for the whole tensor.
inline Axes norm_axes(const Value& w, bool per_unit) {
  const auto rank = static_cast<std::int64_t>(w.shape().rank());
  Axes axes;
  if (!per_unit || rank < 2) {
    for (std::int64_t d = 0; d < rank; ++d) axes.push_back(d);
    return axes;
  }
  const std::int64_t unit = rank == 2 ? 1 : 0;  // dense [in, units]; convolution [out, in, kh, kw]
  for (std::int64_t d = 0; d < rank; ++d) {
    if (d != unit) axes.push_back(d);
  }
  return axes;
}

inline Value project_l2(Value w, double c, const Axes& axes) {
  Value norm = sqrt(sum(square(w), axes, true));
  Value over = greater(norm, w.graph->scalar(c, w.dtype()));
  return where(over, w * (c / norm), w);  // c / norm only where the norm exceeds c > 0
}

inline Value project_l1(Value w, double c, const Axes& axes) {
  Value a = abs(w);
  Value lo = zeros_like(sum(a, axes, true)), hi = max(a, axes, true);
  for (int i = 0; i < 48; ++i) {  // invariant: sum relu(a - hi) <= c <= sum relu(a - lo)
    Value mid = 0.5 * (lo + hi);
    Value above = greater(sum(relu(a - mid), axes, true), w.graph->scalar(c, w.dtype()));
    lo = where(above, mid, lo);
    hi = where(above, hi, mid);
  }
  Value inside = greater(w.graph->scalar(c, w.dtype()), sum(a, axes, true));
  return where(inside, w, sign(w) * relu(a - hi));
}

/// A regularizer that re-projects the matching parameters after each step, and reports
/// "projected": the fraction of the constrained norms (units, or tensors) that were over c.
class Projection final : public Regularizer {
 public:
  Projection(const Hyperparams& h, bool l1)
      : c_(h.real("c")), pattern_(h.string("pattern")), per_unit_(h.boolean("per_unit")), l1_(l1) {}
  Value project(const NamedParam& p, Value updated) override {
    if (!name_matches(pattern_, p.name)) return updated;
    const Axes axes = norm_axes(updated, per_unit_);
    return l1_ ? project_l1(updated, c_, axes) : project_l2(updated, c_, axes);
  }
  void extend_step(StepContext& ctx) override {
    Value over;
    double norms = 0;
    for (const auto& p : ctx.params()) {
      if (!name_matches(pattern_, p.name)) continue;
      Value w = ctx.updated(p.name);
      const Axes axes = norm_axes(w, per_unit_);
      Value norm = l1_ ? sum(abs(w), axes, true) : sqrt(sum(square(w), axes, true));
      Value n = sum(greater(norm, w.graph->scalar(c_, w.dtype())));
      over = over.valid() ? over + n : n;
      norms += static_cast<double>(norm.shape().numel());
    }
    Regularizer::extend_step(ctx);  // project() each parameter
    if (over.valid()) ctx.report("projected", over * (1.0 / norms));
  }

 private:
  double c_;
  std::string pattern_;
  bool per_unit_, l1_;
};

inline Schema projection_schema(double c, bool per_unit) {
  return Schema{real_param("c", c, "the radius: largest norm allowed").greater_than(0),
                string_param("pattern", "*/W", "parameters constrained (a glob over names)"),
                bool_param("per_unit", per_unit, "constrain each unit's incoming weights, not the whole tensor")};
}

}  // namespace symgrad
