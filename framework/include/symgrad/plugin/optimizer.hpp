#pragma once
/// @file
/// The optimizer interfaces: optax's init/update pair as graph nodes. `update` adds the nodes of
/// one step for one parameter; its slots are variables named "<param>/<optimizer>/<slot>", so
/// checkpoints key them by parameter name. Host-driven optimizers (Newton, CG, BFGS, L-BFGS) run
/// their own loop over an Objective instead.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "symgrad/graph/graph.hpp"
#include "symgrad/plugin/hyperparams.hpp"
#include "symgrad/runtime/variable_store.hpp"

namespace symgrad {

/// One parameter and its gradient in the step being built.
struct ParamGrad {
  std::string name;  ///< the variable's name, e.g. "dense1/W"
  Value param;       ///< its current value
  Value grad;        ///< d loss / d param in this step
};

/// The step an optimizer builds into: the graph, the learning rate and step count as graph
/// values (changing them never recompiles), and the slots.
class OptimizerContext {
 public:
  /// `lr_variable`: the scalar variable holding this context's learning rate; `state_prefix`: where
  /// its scalar state lives ("optimizer/<optimizer>" when empty; a parameter group's own).
  OptimizerContext(Graph& graph, std::string optimizer, VariableStore& store, DType dtype,
                   const std::string& lr_variable = "optimizer/lr", std::string state_prefix = "");

  Graph& graph() const { return *graph_; }
  const std::string& optimizer() const { return optimizer_; }
  /// The parameters' dtype (for constants: graph().scalar(v, dtype())).
  DType dtype() const { return dtype_; }
  /// The learning rate: a scalar variable ("optimizer/lr", or a parameter group's own) that
  /// schedules set in the store between steps.
  Value lr() const { return lr_; }
  /// t, the number of this step (1 at the first): "optimizer/step" + 1, in the parameters' dtype.
  /// The counter itself is f64 in every precision (exact to 2^53 steps).
  Value step() const;
  /// Slot `slot` of `p`: the variable "<p.name>/<optimizer>/<slot>" of p's type, first filled
  /// with `init` (a store that has it already, e.g. from a checkpoint, keeps its value).
  Value slot(const ParamGrad& p, const std::string& slot, double init = 0.0);
  /// Sets a slot's value after this step.
  void set_slot(const ParamGrad& p, const std::string& slot, Value next);
  /// Scalar state of the optimizer, one value for every parameter it updates (NAdam's product of
  /// momentum coefficients): the variable "optimizer/<optimizer>/<name>" (a parameter group's
  /// under its own prefix), a scalar of the parameters' dtype first holding `init` (kept when the
  /// store has it, from a checkpoint). Returns the same value however often it is asked for.
  Value state(const std::string& name, double init = 0.0);
  /// Its value after this step; set once per step (UpdateRule::begin_step is the place).
  void set_state(const std::string& name, Value next);

  /// Everything the step writes back: new parameters, slots and the step count.
  const std::vector<std::pair<std::string, Value>>& updates() const { return updates_; }
  void add_update(const std::string& variable, Value next);
  /// The names of the slot variables made so far.
  const std::vector<std::string>& slots() const { return slot_names_; }

 private:
  Graph* graph_;
  std::string optimizer_;
  VariableStore* store_;
  DType dtype_;
  Value lr_, step_;
  std::string state_prefix_;
  std::vector<std::pair<std::string, Value>> updates_;
  std::vector<std::string> slot_names_;
  std::map<std::string, Value> slot_values_;
};

/// A full-batch objective over one flat vector of parameters, for host-driven optimizers (Newton,
/// conjugate gradient, BFGS, L-BFGS) that evaluate where their line search needs to. Each call
/// runs a compiled plan (plugin/objective.hpp makes one from a graph).
class Objective {
 public:
  virtual ~Objective() = default;
  /// Number of parameters n.
  virtual std::size_t size() const = 0;
  virtual double value(const std::vector<double>& x) = 0;
  /// f(x), with grad (resized to n) set to its gradient.
  virtual double value_and_grad(const std::vector<double>& x, std::vector<double>& grad) = 0;
  /// hv = H(x) v.
  virtual void hessian_vector_product(const std::vector<double>& x, const std::vector<double>& v,
                                      std::vector<double>& hv) = 0;
  /// The dense Hessian, row-major n x n (for n up to a few thousand).
  virtual void hessian(const std::vector<double>& x, std::vector<double>& h) = 0;
  /// True when evaluations see different data (minibatches): methods that need one fixed
  /// function (line searches, curvature pairs) refuse it.
  virtual bool stochastic() const { return false; }
};

/// A first-order optimizer: its update rule written as graph nodes of the training step. Its
/// schema must declare a real "lr" hyperparameter: the framework reads it and keeps the rate in a
/// graph variable (ctx.lr()) that schedules change between steps without recompiling.
class UpdateRule {
 public:
  virtual ~UpdateRule() = default;
  /// Once per step, before update() is called for each parameter: the rule's scalar state
  /// (ctx.state, ctx.set_state) and values every parameter's update shares. Nothing by default.
  virtual void begin_step(OptimizerContext& ctx);
  /// Adds the nodes of one step for `p` and returns p's new value; reads slots with ctx.slot and
  /// writes them with ctx.set_slot. The rule must use ctx.lr() as its learning rate.
  virtual Value update(OptimizerContext& ctx, const ParamGrad& p) = 0;
};

/// A host-driven optimizer (Newton, conjugate gradient, BFGS, L-BFGS): its own loop over an
/// Objective, evaluating where its line search needs to.
class HostOptimizer {
 public:
  virtual ~HostOptimizer() = default;
  /// One iteration from x (updated in place); returns f at the new x. The optimizer keeps its
  /// state (directions, curvature pairs) between calls.
  virtual double iterate(Objective& f, std::vector<double>& x) = 0;
};

/// The result of building an optimizer's step into a graph.
struct OptimizerStep {
  /// variable -> new value, for CompileOptions::updates: parameters, slots, the step count.
  std::map<std::string, Value> updates;
  std::vector<std::string> slots;  ///< slot variable names
  /// The learning-rate variables and the rate each starts with: "optimizer/lr", and
  /// "optimizer/lr/<i>" for parameter group i when it sets its own lr.
  std::vector<std::pair<std::string, double>> learning_rates;
};

/// Parameters whose names match `pattern` take this group's settings over the optimizer's (e.g.
/// no weight decay on biases: {"*/b", {{"weight_decay", 0.0}}}). The first matching group wins.
struct ParamGroup {
  std::string pattern;  ///< glob over parameter names: * any run of characters, ? one character
  Settings settings;
};

/// True when `name` matches the glob `pattern`.
bool name_matches(const std::string& pattern, const std::string& name);

/// Builds one step of `rule` (registered as `name`, which names its slots) for `params`
/// (variables of one floating dtype) given their `grads`: declares "optimizer/lr" (first set to
/// `lr` unless the store has it), "optimizer/step" and the slots in `store`, and returns the
/// updates to compile. If it throws, the store is as it was.
OptimizerStep build_optimizer_step(UpdateRule& rule, const std::string& name, double lr, Graph& graph,
                                   const std::vector<Value>& params, const std::vector<Value>& grads,
                                   VariableStore& store);

/// One step of the optimizer plugin `name` with `settings`, and per-group settings for the
/// parameters that match a group's pattern (each group its own optimizer instance; the slots are
/// named by parameter either way).
OptimizerStep build_optimizer_step(const std::string& name, const Settings& settings,
                                   const std::vector<ParamGroup>& groups, Graph& graph,
                                   const std::vector<Value>& params, const std::vector<Value>& grads,
                                   VariableStore& store);

/// Sets the learning rate of later steps (no recompilation).
void set_learning_rate(VariableStore& store, double lr);

}  // namespace symgrad
