#pragma once
/// @file
/// What an op declares: its type inference, its pullback (gradient built from other ops), its
/// traits (a formula, a view) and sample inputs for checks. Its kernels are the backends'
/// (symgrad/runtime/kernel.hpp: each backend registers its own for an op name).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "symgrad/core/tensor.hpp"
#include "symgrad/graph/graph.hpp"

namespace symgrad {


/// Arguments of an op's type inference.
struct InferContext {
  const OpDef& op;
  const Attrs& attrs;
  std::span<const TensorType> inputs;
  /// Throws ShapeError "op 'name' at node: message".
  [[noreturn]] void fail(const std::string& message) const;
};

/// The gradient of one input, as a pullback answers it. Three "no gradient" answers are distinct
/// and raise only if the gradient is actually needed:
/// - disconnected: the output does not depend on the input (or only piecewise-constantly, as
///   comparisons and sign): the gradient is zero;
/// - undefined: there is no gradient (integer labels, indices);
/// - not implemented: it exists but this op does not provide it.
class Grad {
 public:
  enum class Kind { value, disconnected, undefined, not_implemented };
  Grad(Value v) : kind_(Kind::value), value_(v) {}  // NOLINT: implicit on purpose
  static Grad disconnected() { return Grad(Kind::disconnected, ""); }
  static Grad undefined(std::string why) { return Grad(Kind::undefined, std::move(why)); }
  static Grad not_implemented(std::string why) {
    return Grad(Kind::not_implemented, std::move(why));
  }
  Kind kind() const { return kind_; }
  const Value& value() const { return value_; }
  const std::string& why() const { return why_; }

 private:
  Grad(Kind k, std::string why) : kind_(k), why_(std::move(why)) {}
  Kind kind_;
  Value value_;
  std::string why_;
};

/// Arguments of a pullback: the node, its inputs and outputs as values, and the gradient of the
/// loss with respect to each output (zeros for outputs the loss does not use).
struct PullbackContext {
  Graph& graph;
  const Node& node;
  std::vector<Value> inputs;
  std::vector<Value> outputs;
  std::vector<Value> grads;
  std::vector<bool> needs;     ///< needs[i]: the caller wants the gradient of input i
  std::vector<bool> has_grad;  ///< has_grad[j]: grads[j] is a real gradient, not filled zeros
  /// Partial derivatives of a formula: sum_j seeds[j]^T d ys[j] / d wrt[i], each wrt value taken
  /// as an independent input (autodiff's vjp, which sets this; ops do not include autodiff). For
  /// a pullback written as a formula of the node's inputs, whose own pullback differentiates it.
  std::function<std::vector<Value>(const std::vector<Value>& ys, const std::vector<Value>& seeds,
                                   const std::vector<Value>& wrt)>
      partials;
  const Attrs& attrs() const { return node.attrs; }
  Value x(std::size_t i = 0) const { return inputs.at(i); }
  Value y(std::size_t i = 0) const { return outputs.at(i); }
  Value g(std::size_t i = 0) const { return grads.at(i); }
};

/// One input of a sample: its type, and either a fixed value or a range to draw from.
struct SampleInput {
  TensorType type;
  std::optional<Tensor> value;  ///< fixed (labels, masks); otherwise drawn uniformly
  double low = -1.0;            ///< range drawn from; values closer to 0 than 0.1 are avoided
  double high = 1.0;            ///< when low < 0 < high (keeps clear of kinks at 0)
  bool differentiable = true;   ///< false: excluded from gradient checks (masks, labels)
};

/// A sample input set for an op: used by the registry-wide forward and gradient checks.
struct Sample {
  std::string label;
  std::vector<SampleInput> inputs;
  Attrs attrs;
  bool second_order = true;  ///< also check second derivatives (gradgradcheck)
};

using InferFn = std::function<std::vector<TensorType>(const InferContext&)>;
using PullbackFn = std::function<std::vector<Grad>(const PullbackContext&)>;
using SamplesFn = std::function<std::vector<Sample>()>;
/// One step of an elementwise op's formula (OpDef::formula): `op`, a built-in elementwise op the
/// chain compiler takes ("add", "sub", "mul", "div", "neg", "exp", "log", "sqrt", "square", "abs",
/// "sign", "pow", "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "sin", "cos", the
/// comparisons and "where"), applied to `args`: -1 is the op's first input, -2 its second, ...;
/// 0, 1, ... the value of an earlier step. `p`: pow's exponent, leaky_relu's alpha. The step
/// "constant" takes no argument and is the number `p` (gelu's 0.044715): {"constant", {}, 0.5}.
struct FormulaStep {
  std::string op;
  std::vector<int> args;
  double p = 0.0;
};

/// The declaration of an op.
struct OpDef {
  std::string name;
  std::string doc;         ///< one line
  int arity = 1;           ///< number of inputs; -1 for variadic (at least one)
  bool pure = true;        ///< false: never merged with an identical node
  InferFn infer;           ///< required
  PullbackFn pullback;     ///< empty: "not implemented" for every input
  SamplesFn samples;       ///< required for the registry-wide checks
  /// An elementwise op's value as a formula of built-in elementwise ops (the last step's value;
  /// inputs of one floating dtype, broadcasting like add). An op that has one fuses into the
  /// compiled elementwise chains of the onednn backend like a built-in, a plugin's op included, and
  /// runs there as a one-op chain when not fused; the reference backend runs its own kernel.
  std::vector<FormulaStep> formula;
  /// The output holds the bytes of the first input whenever both have as many elements of one
  /// dtype (a reshape; a sum over, or a broadcast to, nothing): the onednn backend then runs the
  /// step as a view of the input's buffer, nothing to compute.
  bool view_when_same_size = false;
};

}  // namespace symgrad
