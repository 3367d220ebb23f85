#pragma once
/// @file
/// Kernels: what a backend runs for an op, and the registry where each backend registers its own
/// for an op name (the reference backend's loops, the onednn backend's primitives and host code,
/// a plugin's). The plan (runtime/plan.hpp) looks them up when it compiles a graph.

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "symgrad/core/tensor.hpp"
#include "symgrad/graph/graph.hpp"

namespace symgrad {

class Communicator;  // symgrad/runtime/communicator.hpp

/// The arithmetic of matmuls and convolutions (CompileOptions::precision). f32: all in float32.
/// bf16 (mixed precision): their operands are rounded to bfloat16 and multiplied with float32
/// accumulation. Every tensor the plan returns or updates, and every plain tensor it holds, is
/// float32 (so parameters and optimizer state are f32 masters); only values kept in a backend's
/// layout between its kernels (a CNN's activations and their gradients) may be stored in bf16
/// (docs/backends.md, "Mixed precision"). Backends without bf16 kernels, and CPUs without native
/// bf16 instructions, compute in f32.
enum class Precision { f32, bf16 };

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
  /// CompileOptions::precision of the plan.
  Precision precision = Precision::f32;
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

using KernelFn = std::function<void(const KernelContext&)>;
/// Prepares a kernel for the given types, or returns nullptr when it does not handle them (the
/// plan then uses the fallback backend's kernel, e.g. f64 on the oneDNN backend).
using KernelFactory = std::function<std::unique_ptr<PreparedKernel>(const PrepareContext&)>;

/// The kernels of every backend, by op name. The global registry holds the built-in backends'
/// kernels from its first use (each backend registers its own); plugins add theirs. Kernels
/// never move once added.
class KernelRegistry {
 public:
  /// The process-wide registry, with the reference and onednn backends' kernels registered.
  static KernelRegistry& global();

  /// A stateless kernel for `op` on `backend`; throws UsageError if the op is not registered
  /// (graph/op_registry.hpp) or already has one there.
  void add_kernel(const std::string& op, const std::string& backend, KernelFn kernel);
  /// A prepared-kernel factory for `op` on `backend`; `layout_inputs` are the inputs it accepts in
  /// the backend's own layouts (PrepareContext::input_layouts).
  void add_factory(const std::string& op, const std::string& backend, KernelFactory factory,
                   std::set<int> layout_inputs = {});
  /// Declares that the prepared kernels of `op` on `backend` may write output 0 over input
  /// `input` (each element of the input is read before that element of the output is written,
  /// as oneDNN's eltwise primitives allow). A plan then gives the output the input's buffer when
  /// the input has no later reader and both are stored alike (same bytes and layout): one tensor
  /// less to stream through the cache. Throws UsageError without a factory for `op` there.
  void allow_in_place(const std::string& op, const std::string& backend, int input);
  /// The kernel, factory or layout inputs of `op` on `backend` (null / empty when there are none).
  const KernelFn* kernel(const std::string& op, const std::string& backend) const;
  const KernelFactory* factory(const std::string& op, const std::string& backend) const;
  const std::set<int>& layout_inputs(const std::string& op, const std::string& backend) const;
  /// The input output 0 of `op`'s prepared kernel on `backend` may overwrite, or -1.
  int in_place_input(const std::string& op, const std::string& backend) const;
  /// The backends with a kernel or a factory for `op`, in name order.
  std::vector<std::string> backends(const std::string& op) const;

 private:
  struct Kernels {
    std::map<std::string, KernelFn> kernels;
    std::map<std::string, KernelFactory> factories;
    std::map<std::string, std::set<int>> layout_inputs;
    std::map<std::string, int> in_place_input;
  };
  std::map<std::string, Kernels> ops_;
};

}  // namespace symgrad
