#pragma once
/// @file
/// Gradient checking: symbolic gradients against central differences, in double precision.
///
/// Contract. The outputs y_j are projected to a scalar L = sum_j sum(r_j * y_j) with fixed random
/// weights r_j (so any output shape is checked with one gradient per input). For every element
/// x_k of every checked input, the numeric derivative is (L(x_k + eps) - L(x_k - eps)) / (2 eps)
/// and the analytic one comes from gradients(). An element passes when
///     |analytic - numeric| <= atol + rtol * max(|numeric|, floor).
/// gradgradcheck does the same for S = sum_i sum(v_i * dL/dx_i) with random v_i, checking the
/// pullbacks of the pullbacks (second derivatives). Inputs are f64 by default; the float32 check
/// (GradcheckOptions::float32(), on oneDNN) uses a larger step and a relative tolerance with a
/// magnitude floor, as Caffe's checker does. Check points away from kinks (relu at 0, ties in max).

#include <cstdint>
#include <string>
#include <vector>

#include "symgrad/graph/op_def.hpp"
#include "symgrad/runtime/plan.hpp"

namespace symgrad {

/// Tolerances and the seed of gradcheck.
struct GradcheckOptions {
  double eps = 1e-6;   ///< central-difference step
  double atol = 1e-5;  ///< absolute tolerance
  double rtol = 1e-3;  ///< relative tolerance (of the numeric derivative)
  double floor = 0.0;  ///< magnitude below which rtol applies to `floor` instead
  std::uint64_t seed = 0x5eed;  ///< projection weights and drawn sample values
  std::string backend = "reference";
  DType dtype = DType::f64;  ///< dtype of the checked inputs (op checks convert samples to it)

  /// Float32 through oneDNN: step 1e-2, |a - n| <= 1e-3 max(|n|, 1).
  static GradcheckOptions float32() {
    GradcheckOptions o;
    o.eps = 1e-2;
    o.atol = 0.0;
    o.rtol = 1e-3;
    o.floor = 1.0;
    o.backend = "onednn";
    o.dtype = DType::f32;
    return o;
  }
};

/// The outcome for one checked input.
struct InputReport {
  std::string name;
  double max_abs_error = 0.0;  ///< max over elements of |analytic - numeric|
  double max_rel_error = 0.0;  ///< max of |a - n| / max(|a|, |n|) where max(|a|, |n|) > atol
  std::int64_t worst_index = -1;  ///< flat index of the element with the largest excess error
  double analytic = 0.0;       ///< analytic derivative at worst_index
  double numeric = 0.0;        ///< numeric derivative at worst_index
  bool passed = true;
};

/// The outcome of a check: one report per checked input.
struct GradcheckResult {
  bool passed = true;
  std::vector<InputReport> inputs;
  /// One line per input: name, max abs error, max rel error, worst element, pass/fail.
  std::string to_string() const;
};

/// By how much one element misses the contract: |analytic - numeric| - (atol + rtol max(|numeric|,
/// floor)); it passes at or below 0 (NaN fails).
double gradcheck_excess(double analytic, double numeric, const GradcheckOptions& options);
/// Records element `index` in `report`: its errors, pass or fail, and the worst element (by excess;
/// `worst_excess` carries the worst so far between calls, starting at -infinity).
void record_element(InputReport& report, std::int64_t index, double analytic, double numeric,
                    const GradcheckOptions& options, double& worst_excess);
/// Whether two estimates of one derivative disagree by more than 1e-2 of the larger magnitude (at
/// least 1): a kink's one-sided slopes (relu or |x| at 0), or central slopes at two steps across a
/// jump. There central differences have no derivative to compare with.
bool slopes_disagree(double a, double b);

/// Checks d outputs / d wrt of a graph at the given feeds. `wrt` are input placeholders (f64);
/// `feeds` gives every input of the graph.
GradcheckResult gradcheck(const std::vector<Value>& outputs, const std::vector<Value>& wrt,
                          const Feeds& feeds, const GradcheckOptions& options = {});
/// Second derivatives of the same.
GradcheckResult gradgradcheck(const std::vector<Value>& outputs, const std::vector<Value>& wrt,
                              const Feeds& feeds, const GradcheckOptions& options = {});

/// The values of a sample's inputs: fixed values as given, others drawn from their range
/// (deterministic in `seed`).
std::vector<Tensor> sample_values(const Sample& sample, std::uint64_t seed);

/// Checks an op on a sample: builds `outputs = op(inputs)` in a fresh graph and runs gradcheck
/// on the differentiable inputs (named x0, x1, ...).
GradcheckResult gradcheck_op(const OpDef& op, const Sample& sample,
                             const GradcheckOptions& options = {});
GradcheckResult gradgradcheck_op(const OpDef& op, const Sample& sample,
                                 const GradcheckOptions& options = {});

/// An elementwise op's formula (OpDef::formula, what the onednn backend runs in its fused chains)
/// against the op's own kernel, on one sample: both evaluated on `options.backend`'s reference
/// kernels in `options.dtype`, element by element. A formula that computes another function
/// than the kernel passes every gradient check on the reference backend, and fails only on
/// onednn, where the gradient check would blame the pullback: this names the formula instead.
struct FormulaCheck {
  bool passed = true;
  double max_error = 0.0;         ///< max over elements of |formula - kernel| / max(1, |kernel|)
  std::int64_t worst_index = -1;  ///< the element of max_error
  double formula = 0.0, kernel = 0.0;  ///< the two values there
  /// "formula and kernel agree (max error E)", or "the formula of op X differs from its reference
  /// kernel at sample S by E (element k: formula A, kernel B)".
  std::string describe(const std::string& op, const std::string& sample) const;
};
/// Passes when every element is within 1e-6 (f64) or 1e-4 (f32) of the kernel, relative to
/// max(1, |kernel|). An op without a formula passes.
FormulaCheck check_formula_op(const OpDef& op, const Sample& sample, const GradcheckOptions& options = {});

}  // namespace symgrad
