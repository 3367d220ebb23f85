#pragma once
/// @file
/// What a plugin's registration function fills: a staging area of components. The host checks
/// them all (names, schemas, op definitions) and then commits them together, or none.

#include <string>
#include <vector>

#include "symgrad/graph/op_def.hpp"
#include "symgrad/plugin/components.hpp"
#include "symgrad/runtime/kernel.hpp"

namespace symgrad {

/// A plugin op's kernels by backend (registered in the KernelRegistry with the op).
struct StagedKernels {
  std::map<std::string, KernelFn> kernels;
  std::map<std::string, KernelFactory> factories;
  std::map<std::string, std::set<int>> layout_inputs;
};

/// One staged component (exactly one of the op or the factories is set, by kind).
struct StagedComponent {
  ComponentKind kind = ComponentKind::op;
  std::string name;
  std::string doc;
  Schema schema;
  OpDef op;
  StagedKernels kernels;  ///< an op's
  InitializerFactory make_initializer;
  UpdateRuleFactory make_update_rule;      ///< first-order optimizers
  HostOptimizerFactory make_host_optimizer;  ///< host-driven optimizers
  RegularizerFactory make_regularizer;
  StrategyFactory make_strategy;
  LossFactory make_loss;
};

/// Passed to a plugin's registration function.
class PluginRegistrar {
 public:
  /// An op: infer, pullback and samples are required, and a "reference" kernel (add_kernel); an
  /// "onednn" kernel or factory runs it on the onednn backend (without one it falls back to the
  /// reference kernel, or runs the op's formula in a chain).
  void add_op(OpDef def);
  /// A kernel of the op `op` added before by this plugin, for `backend` ("reference", "onednn").
  void add_kernel(const std::string& op, const std::string& backend, KernelFn kernel);
  /// A prepared-kernel factory (runtime/kernel.hpp) of the op `op` for `backend`; `layout_inputs`:
  /// the inputs it accepts in the backend's own layouts.
  void add_factory(const std::string& op, const std::string& backend, KernelFactory factory,
                   std::set<int> layout_inputs = {});
  void add_initializer(std::string name, std::string doc, Schema schema, InitializerFactory make);
  /// A first-order optimizer (its schema must declare a real "lr").
  void add_optimizer(std::string name, std::string doc, Schema schema, UpdateRuleFactory make);
  /// A host-driven optimizer (Newton, CG, BFGS, L-BFGS).
  void add_host_optimizer(std::string name, std::string doc, Schema schema, HostOptimizerFactory make);
  void add_regularizer(std::string name, std::string doc, Schema schema, RegularizerFactory make);
  void add_strategy(std::string name, std::string doc, Schema schema, StrategyFactory make);
  /// A loss (plugin/loss.hpp): the per-example loss of an output against its target.
  void add_loss(std::string name, std::string doc, Schema schema, LossFactory make);

  const std::vector<StagedComponent>& staged() const { return staged_; }

 private:
  StagedKernels& kernels_of(const std::string& op, const std::string& backend);
  std::vector<StagedComponent> staged_;
};

}  // namespace symgrad
