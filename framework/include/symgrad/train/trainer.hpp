#pragma once
/// @file
/// The Trainer: epochs of seeded, shuffled minibatches through one compiled training step
/// (forward, loss with the regularizers' penalties, gradients, optimizer update), evaluation with
/// a separate inference plan built from the same model, callbacks at named points, and metrics
/// written as CSV and JSON lines. The same seed and thread count give bitwise the same weights.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "symgrad/autodiff/gradcheck.hpp"
#include "symgrad/data/dataset.hpp"
#include "symgrad/plugin/components.hpp"
#include "symgrad/plugin/objective.hpp"
#include "symgrad/runtime/plan.hpp"
#include "symgrad/runtime/variable_store.hpp"
#include "symgrad/runtime/communicator.hpp"
#include "symgrad/train/model.hpp"

namespace symgrad {

struct TrainerOptions {
  std::int64_t epochs = 10;
  std::int64_t batch_size = 32;  ///< 1: online SGD; the training set's size: batch gradient descent
  std::uint64_t seed = 0;        ///< initialization, shuffling and dropout masks
  std::string optimizer = "adam";
  Settings optimizer_settings;
  std::vector<ParamGroup> groups;
  std::string initializer = "he";  ///< for weights (biases start at 0)
  Settings initializer_settings;
  std::string schedule;  ///< a learning-rate schedule (train/lr_schedule.hpp), stepped per epoch; "" none
  Settings schedule_settings;
  double clip_norm = 0;           ///< clip the gradients to this global norm (0: off)
  double clip_value = 0;          ///< clip each gradient element to [-v, v] (0: off)
  std::string backend = "onednn";
  DType dtype = DType::f32;
  /// Precision of the matmuls and convolutions of the training step and of evaluation
  /// (CompileOptions::precision): bf16 is mixed precision (bf16 operands, f32 accumulation);
  /// parameters, gradients and optimizer state stay f32. Host-driven optimizers' full-batch
  /// objectives compute in f32.
  Precision precision = Precision::f32;
  std::string output_dir;  ///< metrics files and checkpoint.bin go here ("" writes none)
  /// A checkpoint at the end of an epoch when this many seconds passed since the last one (0:
  /// every epoch); always after the last epoch and at a stop.
  double checkpoint_seconds = 10;
  /// What a step does when its loss, a gradient or a value it writes (a parameter, an optimizer
  /// slot, an extension's state) holds a NaN or an infinity. Every policy names the step and what
  /// went non-finite; the last checkpoint stays as it was.
  ///  - raise: fit() throws; the step is not undone (the store holds it, so it cannot be saved).
  ///  - stop: the step is undone and training ends there, like early stopping (fit() returns;
  ///    stopped_by() says why); the store is the state after the last good step.
  ///  - skip_step: the step is undone and training goes on with the next batch (as PyTorch's
  ///    GradScaler skips a step with inf/NaN gradients); the epoch's metrics count the skipped
  ///    steps; an epoch whose every step is skipped ends training with an error.
  /// stop and skip_step copy the variables a step writes before it runs (one copy of each, reused),
  /// and so can also name the first op of the step's graph that produced the bad value. A
  /// host-driven optimizer's full-batch iteration (L-BFGS, CG) that ends non-finite always raises.
  enum class NanPolicy { raise, stop, skip_step } nan_policy = NanPolicy::raise;
  /// Data-parallel training over the communicator's processes (docs/distributed.md; not owned;
  /// null or one process: on its own). Each takes its share of every batch (batch_size is the
  /// global batch), the gradients are summed over them, and each applies the same update; the
  /// parameters start as rank 0's. Host-driven optimizers sum the full-batch objective over the
  /// ranks' shards. Give output_dir to rank 0 only: it writes metrics and checkpoints.
  Communicator* communicator = nullptr;
  /// Data-parallel: the gradients are summed over the processes in buckets of about this many
  /// MiB, each started as soon as the backward pass has finished its gradients, while the pass
  /// goes on (torch DistributedDataParallel's bucket_cap_mb, and its default).
  double bucket_cap_mb = 25;
};

/// A model's loss and metrics over a data set.
struct Evaluation {
  double loss = 0;  ///< the model's loss (its weighted loss terms), averaged over the examples
  /// The first loss's output's main metric: accuracy for classification and multi-label outputs,
  /// RMSE for regression (`metric` says which).
  double accuracy = 0;
  std::string metric = "accuracy";
  /// Every loss's output, by "<output>/<metric>": loss (its unweighted term), then accuracy for
  /// classification (and top5 with more than 5 classes) and multi-label outputs, or rmse, mae and r2
  /// for regression.
  std::map<std::string, double> metrics;
};

/// What one epoch measured.
struct EpochRecord {
  std::int64_t epoch = 0;  ///< 1-based
  double train_loss = 0;        ///< data loss, averaged over the epoch's examples
  double train_objective = 0;   ///< the loss with the penalty terms
  /// The first loss's output's main metric over the epoch's steps: accuracy for classification
  /// and multi-label outputs, RMSE for regression (`metric` says which).
  double train_accuracy = 0;
  double val_loss = 0, val_accuracy = 0;  ///< when there is validation data (val_accuracy: as train_accuracy)
  std::string metric = "accuracy";
  /// Validation: every output's metrics (Evaluation::metrics).
  std::map<std::string, double> val_metrics;
  double lr = 0;
  double seconds = 0;
};

/// One parameter's gradient check (Trainer::check_gradients).
struct ParameterCheck {
  InputReport report;  ///< named by the parameter; errors over its checked elements (kinks aside)
  std::int64_t checked = 0;  ///< elements compared
  std::int64_t kinks = 0;    ///< elements at a kink, not compared
};

class Trainer {
 public:
  /// Trains any model (train/model.hpp): its inputs and its losses' targets are fed from the data
  /// sets' arrays of the same names (Dataset::named: "x" the features, "y" the labels, and any
  /// other array); a name the data do not have is refused when training or evaluation starts.
  Trainer(Model model, TrainerOptions options);
  /// A classifier: the Sequential's layers on inputs "x" whose examples are of type `example`
  /// (e.g. f32[2] or f32[1, 28, 28]), softmax cross-entropy against the labels "y" of
  /// `num_classes` classes (kept for existing callers: every label is checked against the last
  /// layer's width when training or evaluation starts).
  Trainer(const Sequential& model, TensorType example, std::int64_t num_classes, TrainerOptions options);
  ~Trainer();

  /// Adds a regularizer or strategy (extension.hpp: its layer hooks, penalty, gradient transform,
  /// step extension, data order and callbacks take part, in the order added), before the first
  /// fit() or evaluate(); its state is kept under `name`. Not owned. Callbacks alone (progress,
  /// interrupts) may be added at any time.
  void add(Extension& extension, const std::string& name = "");

  /// Trains; `validation` (optional) is evaluated after every epoch. A callback setting
  /// TrainEvent::stop ends training after the current epoch's callbacks.
  std::vector<EpochRecord> fit(const Dataset& train, const Dataset* validation = nullptr);
  /// Builds the training and evaluation plans and gives the parameters their first values (fit
  /// and evaluate do it when needed); after it, warnings() says what looks wrong.
  void prepare();
  /// What the first values look like to be a mistake, e.g. every unit of a layer starting
  /// identical (a constant initializer: symmetry is never broken).
  const std::vector<std::string>& warnings() const;
  /// Loss and metrics with the inference plan (dropout off).
  Evaluation evaluate(const Dataset& data);
  /// The gradient of the training objective (the loss and every penalty) on `batch` with
  /// respect to each trainable parameter, at the current variables, against central differences
  /// (gradcheck.hpp's contract and tolerances): at most `per_parameter` elements of each, drawn
  /// with options.seed (all of a smaller one). Random inputs (dropout masks, noise) are the next
  /// step's, held fixed. An element whose one-sided slopes differ is a kink (relu at 0, |w| at 0):
  /// counted, not failed. A double-precision check needs the reference backend (f64). The
  /// variables are left as they were.
  std::vector<ParameterCheck> check_gradients(const Dataset& batch, const GradcheckOptions& options = {},
                                              std::int64_t per_parameter = 10);
  /// The training objective (the loss with the penalties, in training mode) on `batch`, as a
  /// function of the trainable parameters flattened in model order: its value, gradient,
  /// Hessian-vector products and dense Hessian, each a small plan of its own. Random inputs
  /// (dropout masks, noise) are drawn once from `seed`. Evaluating it at x writes x into the
  /// trainer's parameters.
  std::unique_ptr<GraphObjective> batch_objective(const Dataset& batch, std::uint64_t seed);
  /// A trainable parameter as batch_objective's x lays them out (in model order).
  struct Parameter {
    std::string name;
    Shape shape;
    /// Its first value comes from the initializer (a weight or a filter); false for those that
    /// start at 0 or 1 (biases, normalization scales and shifts).
    bool weight = true;
  };
  std::vector<Parameter> parameters();
  /// Recomputes the model's own state (batch-norm running statistics) for the weights evaluation
  /// uses (evaluation_store(): Polyak's averages): they start at their first values and are
  /// updated by one training-mode forward pass over `data` in batches, in order.
  void recompute_state(const Dataset& data);
  /// The first loss's output for every example of `data` with the inference plan: [N, ...] in
  /// f64 (a classifier's logits [N, C]: ensembles). Only the model's inputs are read (no targets).
  Tensor predict(const Dataset& data);
  /// Every loss's output for every example, by output name (f64), from the model's inputs alone.
  std::map<std::string, Tensor> predict_all(const Dataset& data);
  /// Monte-Carlo prediction ("Deep Learning" 7.12; Gal and Ghahramani 2016): each loss's output
  /// averaged over `samples` forward passes that draw the training mode's random inputs afresh
  /// (dropout masks, noise; seeded by `seed`, so the same call gives the same values), with the
  /// variables evaluation uses, instead of the inference pass that drops them (the weight-scaling
  /// rule). What is averaged: a classifier's softmax probabilities, a multi-label output's
  /// sigmoid probabilities, a regression's values. By output name, [N, ...] in f64. Refused
  /// (UsageError) for a model with nothing random in training, or with batch normalization (whose
  /// training mode normalizes by each batch's statistics).
  std::map<std::string, Tensor> predict_sampled(const Dataset& data, std::int64_t samples, std::uint64_t seed);
  /// evaluate() on predict_sampled's averages: each output's metrics; `loss` is the negative log
  /// of the averaged probability of the right class (the first output a classifier), else NaN.
  Evaluation evaluate_sampled(const Dataset& data, std::int64_t samples, std::uint64_t seed);
  /// Each loss's output name and the task of its loss, in the model's order.
  std::vector<std::pair<std::string, Task>> output_tasks();
  /// The first loss's per-example value on every example of `data` with the inference plan
  /// (curriculum scores).
  std::vector<double> example_losses(const Dataset& data);

  /// Writes every variable and the trainer's position (epoch, batch within it, steps) to `path`
  /// (atomically: io/variables_file.hpp). fit() writes <output_dir>/checkpoint.bin after every
  /// epoch, and when a callback stops it in the middle of one (Ctrl-C in the command line).
  void save_checkpoint(const std::string& path);
  /// Reads a checkpoint: the next fit() continues where it stopped, bitwise as if it never had
  /// (the order of the data and the dropout masks follow from the seed and the position).
  void load_checkpoint(const std::string& path);
  /// Sets the optimizer's learning-rate variables to the options' rates (under a schedule, its rate
  /// for the current epoch), replacing what a checkpoint held: a resumed run whose learning rate
  /// was changed continues with the new one. (Without this the checkpoint's rate stays, as a
  /// strategy that lowers the rate on a plateau needs.)
  void reset_learning_rates();
  /// Reads a variables file (`variables.bin` of symgrad train: the store as evaluation sees it)
  /// into the store; refused, naming the variables at fault, when it is not this model's: a
  /// variable evaluation reads is missing from the file, or one the model has is of another shape
  /// or type. Variables the model does not have (another optimizer's slots) are ignored.
  void load_variables(const std::string& path);
  /// Epochs completed so far.
  std::int64_t epochs_done() const;
  /// True when the last fit() was stopped by a callback before its last epoch.
  bool stopped_early() const;
  /// The epoch whose variables the store holds after the last fit() when a callback put back an
  /// earlier epoch's as training ended (early stopping's restore_best: TrainEvent::restored_epoch);
  /// 0 when it holds the variables training ended with.
  std::int64_t restored_epoch() const;
  /// Why the last fit() stopped early when the trainer stopped it (nan_policy = stop): the step and
  /// the non-finite value; empty otherwise.
  const std::string& stopped_by() const;
  /// Steps undone and skipped by nan_policy = skip_step, over every fit() so far.
  std::int64_t skipped_steps() const;

  /// Every variable: parameters, optimizer slots, model and extension state.
  VariableStore& store() { return store_; }
  /// What evaluation reads (and the command line saves as variables.bin): the store, with the
  /// parameters an extension evaluates from its own state (Polyak averages) replaced by it.
  VariableStore evaluation_store();
  const TrainerOptions& options() const { return options_; }

  struct Impl;

 private:
  void check_model_file(const VariableStore& loaded, const std::string& path, const char* what) const;
  void ensure_built();
  /// Gives each extension that is an ObjectiveProbe its fixed batch's objective (fit's start).
  void attach_probes(const Dataset& train);
  std::unique_ptr<Impl> impl_;
  Model model_;
  TrainerOptions options_;
  VariableStore store_;
};

}  // namespace symgrad
