#pragma once
/// @file
/// What an op declares: its type inference, its pullback (gradient built from other ops), its
/// kernels per backend and sample inputs for checks.

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

class Communicator;  // symgrad/runtime/communicator.hpp

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

/// Arguments of a kernel: attributes, input tensors, and output tensors already allocated with
/// their (static) shapes; the plan's communicator (CompileOptions::communicator; null without),
/// for the ops that sum over the processes of data-parallel training.
struct KernelContext {
  const Node& node;
  std::span<const Tensor> inputs;
  std::span<Tensor> outputs;
  Communicator* communicator = nullptr;
  const Attrs& attrs() const { return node.attrs; }
  const Tensor& in(std::size_t i) const { return inputs[i]; }
  Tensor& out(std::size_t i = 0) const { return outputs[i]; }
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

/// A backend's memory layout of a tensor (e.g. oneDNN's blocked nChw16c), opaque to the plan. A
/// plan keeps a value in its producer's layout when every consumer accepts that layout
/// (OpDef::layout_inputs), so that no reorder runs between them; everything else sees plain
/// row-major tensors.
struct Layout {
  std::shared_ptr<const void> desc;  ///< the backend's descriptor
  std::size_t bytes = 0;             ///< storage it needs (padding may make it exceed the plain size)
  std::string name;                  ///< for Plan::to_string, e.g. "aBcd16b"
};
using LayoutPtr = std::shared_ptr<const Layout>;

/// The concrete types a kernel is prepared for.
struct PrepareContext {
  const Node& node;
  std::span<const TensorType> inputs;
  std::span<const TensorType> outputs;
  /// Identity of each input within the plan: equal ids are the same tensor.
  std::span<const std::int64_t> input_ids = {};
  /// State shared by the kernels of one plan (and set of shapes), prepared in execution order,
  /// e.g. a pooling workspace the forward writes and the backward reads. Null outside a plan.
  std::map<std::string, std::shared_ptr<void>>* shared = nullptr;
  /// The layout each input is stored in (null or absent: plain). Only inputs the op lists in
  /// OpDef::layout_inputs for this backend are ever given one.
  std::span<const LayoutPtr> input_layouts = {};
  /// output_may_use_layout[k]: output k may be written in a backend layout (every consumer
  /// accepts one). The factory records its choice in (*output_layouts)[k]; null is plain.
  std::vector<bool> output_may_use_layout = {};
  std::vector<LayoutPtr>* output_layouts = nullptr;
  const Attrs& attrs() const { return node.attrs; }
  const LayoutPtr& input_layout(std::size_t i) const {
    static const LayoutPtr none;
    return i < input_layouts.size() ? input_layouts[i] : none;
  }
  bool may_use_layout(std::size_t k) const {
    return output_layouts != nullptr && k < output_may_use_layout.size() && output_may_use_layout[k];
  }
};

/// A kernel prepared once for fixed types (for example oneDNN primitives built at compile time)
/// and run many times on tensors of those types.
class PreparedKernel {
 public:
  virtual ~PreparedKernel() = default;
  virtual void run(const KernelContext& ctx) = 0;
};

using InferFn = std::function<std::vector<TensorType>(const InferContext&)>;
using PullbackFn = std::function<std::vector<Grad>(const PullbackContext&)>;
using KernelFn = std::function<void(const KernelContext&)>;
using SamplesFn = std::function<std::vector<Sample>()>;
/// Prepares a kernel for the given types, or returns nullptr when it does not handle them (the
/// plan then uses the fallback backend's kernel, e.g. f64 on the oneDNN backend).
using KernelFactory = std::function<std::unique_ptr<PreparedKernel>(const PrepareContext&)>;

/// One step of an elementwise op's formula (OpDef::formula): `op`, a built-in elementwise op the
/// chain compiler takes ("add", "sub", "mul", "div", "neg", "exp", "log", "sqrt", "square", "abs",
/// "sign", "pow", "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "sin", "cos", the
/// comparisons and "where"), applied to `args`: -1 is the op's first input, -2 its second, ...;
/// 0, 1, ... the value of an earlier step. `p`: pow's exponent, leaky_relu's alpha.
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
  std::map<std::string, KernelFn> kernels;  ///< stateless kernels by backend ("reference")
  std::map<std::string, KernelFactory> factories;  ///< prepared kernels by backend ("onednn")
  /// By backend: the inputs its factory accepts in that backend's layouts (PrepareContext).
  std::map<std::string, std::set<int>> layout_inputs;
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
