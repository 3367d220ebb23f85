#pragma once
/// @file
/// The extension points through which regularizers and strategies take part in training. One
/// interface serves both kinds (design: one mechanism, not one per plugin):
///
///  | point                 | when                                   | what it can do                      |
///  |-----------------------|----------------------------------------|-------------------------------------|
///  | on_layer_output       | while the model is built, per mode     | wrap a layer's output (batch norm,  |
///  |                       | (training and evaluation graphs)       | noise, dropout), declare parameters |
///  |                       |                                        | and state, add penalties on it      |
///  | penalty               | after the training forward pass and    | a term added to the loss, of the    |
///  |                       | the loss                               | parameters, inputs, targets, losses |
///  | transform_gradients   | before the optimizer's update          | mask, clip or replace gradients     |
///  | extend_step           | after the optimizer's update           | replace new parameter values (mask, |
///  |                       |                                        | projection), keep state (averages), |
///  |                       |                                        | choose evaluation variables         |
///  | order_epoch           | at the start of each epoch             | reorder or subset the examples      |
///  | callbacks             | the trainer's named points             | stop, read and write the store      |
///
/// Everything per step is graph nodes in the one compiled training step, so it runs on the same
/// kernels, fuses, and is saved in checkpoints (state lives in the VariableStore under the
/// extension's prefix).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "symgrad/core/tensor.hpp"
#include "symgrad/graph/graph.hpp"
#include "symgrad/runtime/variable_store.hpp"

namespace symgrad {

/// Which graph a model is built into: the training step (dropout active, batch statistics) or
/// evaluation (inference behaviour).
enum class Mode { train, eval };

/// A variable the model declares, with what an initializer needs to know.
struct ParamInfo {
  Value value;               ///< the variable
  std::int64_t fan_in = 1;   ///< inputs of one unit
  std::int64_t fan_out = 1;  ///< units fed by one input
  /// How it starts: from the initializer (weights), at 0 (biases, shifts, running means) or at 1
  /// (batch-norm scales, running variances).
  enum class Start { initializer, zeros, ones } start = Start::initializer;
  bool trainable = true;     ///< false: state the model updates itself (running statistics)
};

/// A random input the model reads in training mode, drawn by the trainer for each step from the
/// run's seed, the step and the input's name (reproducible, and the same after a resume).
struct RandomInput {
  enum class Kind {
    keep_mask,  ///< 1 with probability 1 - p, else 0 (dropout)
    normal      ///< Gaussian, mean 0, standard deviation p (noise)
  };
  std::string name;  ///< the graph input, e.g. "dropout2/mask"
  Value value;
  Kind kind = Kind::keep_mask;
  double p = 0;
};

/// The forward pass built for one mode.
struct Forward {
  Value logits;
  std::vector<ParamInfo> params;     ///< parameters and state, in the order declared
  std::vector<RandomInput> randoms;  ///< empty in eval mode
  /// Training mode: new values of the model's own state (batch-norm running statistics).
  std::map<std::string, Value> state_updates;
  /// Training mode: scalar terms added to the loss by the layer hooks (activation penalties).
  std::vector<Value> penalties;
};

/// What a model builder and the layer hooks declare into while one mode's forward pass is built.
class Extension;

class ModelContext {
 public:
  /// `hooks`: extensions whose on_parameter sees every parameter declared (not owned).
  ModelContext(Graph& graph, Mode mode, DType dtype, std::vector<Extension*> hooks = {})
      : graph_(&graph), mode_(mode), dtype_(dtype), hooks_(std::move(hooks)) {}

  Graph& graph() const { return *graph_; }
  Mode mode() const { return mode_; }
  bool training() const { return mode_ == Mode::train; }
  /// The floating dtype of the model's values.
  DType dtype() const { return dtype_; }

  /// A trainable parameter `name` of `shape` (the same variable when declared again). Returns the
  /// value the model computes with: the variable, or what the hooks' on_parameter made of it
  /// (weight noise); Forward::params records the variable itself.
  Value parameter(const std::string& name, const Shape& shape, ParamInfo::Start start, std::int64_t fan_in = 1,
                  std::int64_t fan_out = 1);
  /// A non-trainable state variable (starts at 0 or 1), changed only through set_state.
  Value state(const std::string& name, const Shape& shape, ParamInfo::Start start);
  /// Training mode: the state's value after each training step.
  void set_state(const std::string& name, Value next);
  /// Training mode: a random input of `type` (open batch dimension allowed), drawn every step.
  Value random(const std::string& name, const TensorType& type, RandomInput::Kind kind, double p);
  /// Training mode: adds `scalar` to the loss the optimizer minimizes.
  void add_penalty(Value scalar);

  Forward& forward() { return forward_; }

 private:
  Value variable(const std::string& name, const Shape& shape, ParamInfo info);
  Graph* graph_;
  Mode mode_;
  DType dtype_;
  std::vector<Extension*> hooks_;
  Forward forward_;
};

/// One layer's output as the model is built. The model's input is seen first, as the output of a
/// layer "input" of kind "input" (where input noise goes).
struct LayerOutput {
  std::string layer;       ///< "input", "dense2", "conv1", "bn1", "activation3", ...
  std::string kind;        ///< input, dense, conv2d, activation, dropout, flatten, max_pool, avg_pool, batch_norm
  std::size_t index = 0;   ///< position of the layer in the model (0-based)
  /// pre_activation: a dense or conv layer's affine output before its own activation; output: the
  /// layer's result. Layers without an activation are seen once, as output.
  enum class Stage { pre_activation, output } stage = Stage::output;
  std::string activation;  ///< the layer's own activation ("none" if it has none)
  bool last = false;       ///< the model's last layer (its output is the logits)
  Value value;
};

/// A trainable parameter as extensions see it.
struct NamedParam {
  std::string name;
  Value value;
};

/// Values by name: a model's inputs, outputs or targets.
using NamedValues = std::map<std::string, Value>;

/// One loss term of the model (train/model.hpp's LossSpec), built.
struct LossTerm {
  std::string output;  ///< the model output it is on
  std::string target;  ///< the name of its target
  std::string loss;    ///< the loss plugin's name
  double weight = 1;
  Value per_example;   ///< [N], unweighted
};

/// What a penalty sees, in the training graph after the forward pass and the loss: the trainable
/// parameters, and the batch (this process's share of it in data-parallel training: a penalty
/// that is a mean over the batch is then right over the whole batch, as the loss is). A penalty
/// built from these is part of the objective: its gradient is clipped with the loss's, and the
/// trainer, early stopping and host-driven optimizers see it.
struct PenaltyContext {
  PenaltyContext(Graph& g, std::vector<NamedParam> trainable) : graph(&g), params(std::move(trainable)) {}
  Graph* graph;
  std::vector<NamedParam> params;  ///< the trainable parameters, in model order
  NamedValues inputs;   ///< the model's inputs by name ("x": [N, ...]); empty outside a model
  NamedValues targets;  ///< the losses' targets by name ("y")
  NamedValues outputs;  ///< the model's outputs by name ("logits")
  std::vector<LossTerm> losses;
  /// [N]: sum over the terms of weight * per_example. The data loss is its mean over the batch.
  Value per_example_loss;
  Value loss;  ///< the data loss, a scalar (invalid outside a model)
  /// The input `name`; UsageError naming `who`, the input and the model's inputs when there is none.
  Value input(const std::string& name, const std::string& who) const;
};

/// The training step being built, after the loss and its gradients: the trainable parameters,
/// their gradients and new values, and state of the extension's own.
class StepContext {
 public:
  /// `grads`: d objective / d params, in the order of `params`; `step`: t (1 at the first step).
  StepContext(Graph& graph, VariableStore& store, std::vector<NamedParam> params, const std::vector<Value>& grads,
              Value objective, Value step);

  Graph& graph() const { return *graph_; }
  DType dtype() const { return objective_.dtype(); }
  /// The trainable parameters (not optimizer slots, statistics or counters), in model order.
  const std::vector<NamedParam>& params() const { return params_; }
  /// The scalar the optimizer minimizes (the loss with penalties): for Hessian-vector products.
  Value objective() const { return objective_; }
  /// t, the number of this step: 1 at the first.
  Value step() const { return step_; }
  /// The learning rate of this step (the variable "optimizer/lr" the optimizer declared; a
  /// parameter group's own rate is not this one); extend_step only.
  Value learning_rate() const;
  /// The parameter of that name; UsageError naming it when there is none.
  const NamedParam& param(const std::string& name) const;

  /// d objective / d param, as the optimizer will see it (transform_gradients may change it).
  Value gradient(const std::string& param) const;
  void set_gradient(const std::string& param, Value g);
  /// The parameter's value after this step as built so far (after the optimizer and the
  /// extensions before this one); extend_step only.
  Value updated(const std::string& param) const;
  void set_updated(const std::string& param, Value next);

  /// State "<prefix>/<name>": a variable first holding `first` (kept when the store has it,
  /// from a checkpoint), saved with every checkpoint.
  Value state(const std::string& name, const Tensor& first);
  /// State "<prefix>/<name>" that starts as a copy of the parameter's first value (slow weights,
  /// a running average that starts at the iterate), filled once the parameter has its value.
  Value state_from(const std::string& name, const std::string& param);
  /// Its value after each step.
  void set_state(const std::string& name, Value next);
  /// The state's variable name in the store ("<prefix>/<name>"), for callbacks that set it
  /// between steps (TrainEvent::store).
  std::string state_name(const std::string& name) const;
  /// Evaluation, validation, test, variables.bin and `symgrad eval` read the parameter `param`
  /// from this extension's state `name` instead (Polyak averages); training is unaffected.
  void evaluate_with(const std::string& param, const std::string& state);
  /// Reports the scalar `value` of each step as "<prefix>/<name>" (a statistic of the gradients
  /// or of the update): a column of metrics-steps.csv (its value at each step) and of
  /// metrics-epochs.csv (its mean over the epoch's steps), and in `symgrad plot`. Computed in the
  /// step's plan; under data-parallel training it is the same on every process.
  void report(const std::string& name, Value value);

  // -- for the step builder (train/training_step.hpp) -----------------------------------------
  /// The next extension's turn: its state lives under `prefix`; `after_update`: extend_step.
  void begin(const std::string& prefix, bool after_update);
  const std::map<std::string, Value>& gradients() const { return grads_; }
  std::map<std::string, Value>& updates() { return updates_; }
  const std::map<std::string, Value>& state_updates() const { return state_updates_; }
  /// parameter -> the variable evaluation reads instead
  const std::map<std::string, std::string>& evaluation_variables() const { return eval_vars_; }
  /// every state variable the extensions declared
  const std::vector<std::string>& state_names() const { return state_names_; }
  /// state -> the parameter whose first value it starts with (state_from), not yet in the store
  const std::map<std::string, std::string>& state_copies() const { return copies_; }
  /// the reported values, by full name, in the order reported
  const std::vector<std::pair<std::string, Value>>& reports() const { return reports_; }

 private:
  Graph* graph_;
  VariableStore* store_;
  std::vector<NamedParam> params_;
  Value objective_, step_;
  std::string prefix_;
  bool after_update_ = false;
  std::map<std::string, Value> grads_, updates_, state_updates_;
  std::map<std::string, std::string> eval_vars_, copies_;
  std::vector<std::string> state_names_;
  std::vector<std::pair<std::string, Value>> reports_;
};

/// The examples of one epoch, before it runs.
struct EpochData {
  std::int64_t epoch = 0;  ///< 1-based
  /// Indices into the training set, in the order they are taken (a seeded shuffle to start);
  /// an extension may reorder it, or keep a part of it (curriculum).
  std::vector<std::int64_t> order;
  std::uint64_t seed = 0;  ///< derived from the run's seed and the epoch
  const Tensor* features = nullptr;  ///< the training set's features [N, ...] (row i is example i)
  const Tensor* labels = nullptr;    ///< its labels [N]
  /// The current model's loss on every training example (evaluation mode), computed when called.
  std::function<std::vector<double>()> example_losses;
};

/// One training batch before it is fed: the extension may change its features in place (they are
/// the batch's own copy), e.g. label-preserving image transforms.
struct BatchData {
  std::int64_t epoch = 0;
  std::int64_t step = 0;   ///< steps taken before this one
  std::uint64_t seed = 0;  ///< derived from the run's seed and the step: draws from it are reproducible
  Tensor features;         ///< [B, ...] in the training dtype
  const Tensor* labels = nullptr;
};

/// What a callback sees at a named point of training; `stop` asks the trainer to stop.
struct TrainEvent {
  std::int64_t epoch = 0;
  std::int64_t step = 0;                  ///< steps taken so far
  std::map<std::string, double> metrics;  ///< e.g. "loss", "val_loss", "val_accuracy"
  VariableStore* store = nullptr;         ///< parameters, slots and state, readable and writable
  bool stop = false;
  /// Recomputes the model's own state (batch-norm running statistics) for the weights evaluation
  /// uses: the statistics start over and one training-mode forward pass over the training set
  /// updates them (set by the trainer during fit; empty elsewhere).
  std::function<void()> recompute_state;
  /// Reports `value` as "<source>/<name>" in the metrics row being made: a step's (from
  /// on_step_begin and on_step_end) or an epoch's (from the other points), in metrics-steps.csv or
  /// metrics-epochs.csv and the plots. A value reported now and then (every K steps) leaves the
  /// other rows' cells empty.
  void report(const std::string& name, double value);
  /// A callback that puts back the variables of an earlier epoch when training ends (early
  /// stopping's restore_best, in on_train_end) sets this to that epoch: the run's summary then
  /// evaluates the training and validation data on those variables and says which epoch they are.
  std::int64_t restored_epoch = 0;
  std::string source;  ///< the name of the extension whose callback runs (set by the trainer)
  std::vector<std::pair<std::string, double>> reports;  ///< reported since the last row was written
};

/// Hooks at the trainer's named points; each does nothing by default.
class TrainingCallbacks {
 public:
  virtual ~TrainingCallbacks() = default;
  virtual void on_train_begin(TrainEvent&) {}
  virtual void on_epoch_begin(TrainEvent&) {}
  /// Before each step: event.step is the number of steps already taken.
  virtual void on_step_begin(TrainEvent&) {}
  virtual void on_step_end(TrainEvent&) {}
  /// After an epoch's steps, before validation: the last point to change what validation sees.
  virtual void on_epoch_trained(TrainEvent&) {}
  /// After validation (event.metrics has val_loss and val_accuracy when there is validation data).
  virtual void on_epoch_end(TrainEvent&) {}
  virtual void on_train_end(TrainEvent&) {}
};

/// What regularizers and strategies share: every extension point, each a no-op by default.
class Extension : public TrainingCallbacks {
 public:
  /// While the model is built (once per mode): returns the value that replaces `out.value` (the
  /// same value to leave it alone). Declare parameters, state and penalties through `ctx`.
  virtual Value on_layer_output(ModelContext& ctx, const LayerOutput& out);
  /// While the model is built: the value the model computes with in place of the trainable
  /// parameter `variable` named `name` (the same value to leave it alone; weight noise).
  virtual Value on_parameter(ModelContext& ctx, const std::string& name, Value variable);
  /// A scalar added to the loss (e.g. lambda / 2 sum W^2 over ctx.params, or a function of the
  /// inputs and the per-example loss: double backpropagation), or an invalid Value for none.
  virtual Value penalty(const PenaltyContext& ctx);
  /// Before the optimizer's update: may change ctx's gradients.
  virtual void transform_gradients(StepContext& ctx);
  /// After the optimizer's update: may change new parameter values, keep state and choose
  /// evaluation variables.
  virtual void extend_step(StepContext& ctx);
  /// At the start of each epoch: may reorder or subset the examples.
  virtual void order_epoch(EpochData& data);
  /// Before each training step: may transform the batch's features (training batches only).
  virtual void transform_batch(BatchData& batch);
};

}  // namespace symgrad
