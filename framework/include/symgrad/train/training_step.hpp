#pragma once
/// @file
/// Building one training step from its parts, in one documented order, for every caller that
/// trains (the Trainer, `symgrad minimize`, a user's own loop):
///
///   gradients of the objective -> clipping -> extensions' transform_gradients -> the optimizer's
///   update -> extensions' extend_step (regularizers' projections, coordinate masks, averages)
///
/// The result is the set of variable updates to compile with the step's outputs: one plan.

#include <map>
#include <string>
#include <vector>

#include "symgrad/plugin/extension.hpp"
#include "symgrad/plugin/optimizer.hpp"
#include "symgrad/runtime/variable_store.hpp"

namespace symgrad {

/// An extension with the name its state is kept under (its component name, e.g. "polyak").
struct NamedExtension {
  std::string name;
  Extension* extension = nullptr;
};

/// The optimizer and gradient clipping of a step.
struct StepSpec {
  std::string optimizer = "adam";
  Settings optimizer_settings;
  std::vector<ParamGroup> groups;
  double clip_norm = 0;   ///< clip the gradients to this global norm (0: off)
  double clip_value = 0;  ///< clip each gradient element to [-v, v] (0: off)
  /// Data-parallel training: the step after the gradients (clipping, transforms, optimizer,
  /// extend_step) reads them from inputs "grad/<parameter>" (the sum over the processes), and the
  /// gradients of this process's objective are TrainingStep::raw_gradients, to compute apart.
  bool gradients_as_inputs = false;
};

/// A built step.
struct TrainingStep {
  OptimizerStep optimizer;
  /// Everything the step writes back: parameters, slots, step count, extension and model state.
  std::map<std::string, Value> updates;
  /// The gradients the optimizer used (after clipping and transforms), in the order of params.
  std::vector<Value> gradients;
  /// With StepSpec::gradients_as_inputs: the gradients of this process's objective weighted by its
  /// share of the batch (scalar input "shard/share"), in the order of params: their sum over the
  /// processes is the batch's gradient, also through the ops that sum over the processes
  /// (cross_replica_sum, whose pullback sums the processes' weighted gradients).
  std::vector<Value> raw_gradients;
  /// parameter -> the variable evaluation reads instead (StepContext::evaluate_with)
  std::map<std::string, std::string> evaluation_variables;
  /// state variables the extensions declared
  std::vector<std::string> extension_state;
  /// state -> parameter: state that starts as a copy of the parameter's first value, which the
  /// store did not hold yet when the step was built (fill_state_copies fills them).
  std::map<std::string, std::string> state_copies;
  /// The extensions' reported values (StepContext::report), by full name.
  std::vector<std::pair<std::string, Value>> reports;
};

/// Builds the step minimizing `objective` over `params` (trainable variables of one floating
/// dtype). `model_state`: the model's own state updates (batch-norm running statistics). If it
/// throws, the variables it added to `store` are taken out again.
TrainingStep build_training_step(Graph& graph, Value objective, const std::vector<NamedParam>& params,
                                 const StepSpec& spec, const std::vector<NamedExtension>& extensions,
                                 VariableStore& store, const std::map<std::string, Value>& model_state = {});

/// Fills the state that starts as a copy of a parameter, where the store has the parameter and
/// not yet the state (the trainer calls it once the parameters have their first values).
void fill_state_copies(const TrainingStep& step, VariableStore& store);

/// A copy of `store` (sharing its tensors) in which each parameter of `evaluation_variables`
/// holds the tensor of the variable it maps to: what evaluation and variables.bin see.
VariableStore evaluation_view(const VariableStore& store, const std::map<std::string, std::string>& evaluation_variables);

}  // namespace symgrad
