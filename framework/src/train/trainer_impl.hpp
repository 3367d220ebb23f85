#pragma once
// The Trainer's state, and the functions that build its plans (trainer_build.cpp) for the loop
// that runs them (trainer.cpp). Internal to framework/src/train.

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "symgrad/runtime/plan.hpp"
#include "symgrad/train/lr_schedule.hpp"
#include "symgrad/plugin/objective.hpp"
#include "symgrad/plugin/probe.hpp"
#include "symgrad/train/trainer.hpp"
#include "symgrad/train/training_step.hpp"

namespace symgrad {

struct Trainer::Impl {
  Graph train_graph, eval_graph;
  std::unique_ptr<Plan> step, eval;
  std::unique_ptr<Plan> gradient_plan;  // data-parallel: the shard's loss, logits and gradients (step: the update)
  std::vector<float> reduce_f32;        // data-parallel: the gradients summed over the ranks, packed
  std::vector<double> reduce_f64;
  std::vector<Tensor> summed_gradients;  // and unpacked, the update plan's inputs
  // The gradients' places in the packed buffer, in the order the gradient plan finishes them, and
  // the buckets (ranges of that buffer summed in one call each, started as soon as their last
  // gradient is finished while the backward pass goes on). Built at the first data-parallel step.
  struct Bucket {
    std::size_t begin = 0, end = 0;  // elements of the packed buffer
    std::size_t waiting = 0;         // gradients not finished yet in this step
    std::size_t size = 0;            // gradients in it
  };
  std::vector<std::size_t> gradient_offset, gradient_bucket;  // per parameter
  std::vector<Bucket> buckets;
  template <class T>
  std::vector<T>& reduce_buffer() {
    if constexpr (std::is_same_v<T, float>) {
      return reduce_f32;
    } else {
      return reduce_f64;
    }
  }
  // the step plan's outputs: loss, objective, first output, gradient norms, then the reports
  std::vector<Value> step_roots;
  // Reported values: each extension's penalty ("<name>/penalty", computed with the loss: under
  // data-parallel training a mean over the processes' shares) first, then StepContext's reports
  // (computed with the update). The step's outputs carry them after the gradient norms.
  std::vector<std::string> report_names;
  std::size_t batch_reports = 0;
  Forward train_forward;
  // The model's losses: each one's output, target and task, in order. The evaluation plan's
  // outputs are the loss, each loss's output, each loss's term, then the first one's per-example
  // values; the data arrays the plans are fed (model inputs and targets) by name.
  std::vector<std::string> outputs, targets;
  std::vector<Task> tasks;
  std::vector<std::int64_t> classes;  // a classification output's classes (its width)
  std::vector<std::string> data_names;
  // Prediction: the evaluation graph's outputs (one per loss, in order) from the model inputs alone.
  std::vector<Value> eval_outputs;
  std::vector<std::string> input_names;
  std::unique_ptr<Plan> predict;
  TrainingStep training_step;
  // a host-driven optimizer: one iteration an epoch over the full training set's objective
  std::unique_ptr<HostOptimizer> host;
  Value objective;
  std::vector<Value> param_values;
  std::unique_ptr<GraphObjective> full_batch;
  // the host optimizer's point after its last iteration, in double precision, and the store's
  // values it became (rounded to the parameters' dtype): while the store holds those, the next
  // iteration continues from the double point (else the optimizer would see a new start)
  std::vector<double> host_point, host_stored;
  // the probes' objectives on their fixed batches, and what each was given (attach_probes)
  std::vector<std::unique_ptr<GraphObjective>> probe_objectives;
  std::vector<ProbeContext> probe_contexts;
  std::unique_ptr<Plan> state_plan;  // the model's state updates alone (recompute_state)
  // each loss's output in the training graph, and the plan of one sampled pass over them
  // (predict_sampled: a classifier's probabilities, a multi-label output's, a regression's values)
  std::vector<Value> train_outputs;
  std::unique_ptr<Plan> sample_plan;
  std::vector<std::string> warnings;
  std::string incomplete;  // set when a step failed after updating variables in place
  std::unique_ptr<LrSchedule> schedule;
  std::vector<std::string> param_names;
  std::vector<NamedExtension> extensions;  // take part in building (before build) and in fit
  std::vector<std::pair<std::string, TrainingCallbacks*>> callbacks;  // with the name reports go under
  bool built = false;
  std::int64_t steps = 0;      // optimizer steps taken
  std::int64_t epochs_done = 0;
  std::int64_t batch_in_epoch = 0;  // batches of epoch epochs_done + 1 already taken (a mid-epoch stop)
  double elapsed = 0;  // seconds of the completed epochs since training began (the metrics' "elapsed")
  bool stopped = false;
  std::int64_t restored_epoch = 0;  // TrainEvent::restored_epoch at the end of the last fit()
  std::string stopped_by;          // nan_policy = stop: what stopped training
  std::int64_t skipped_steps = 0;  // nan_policy = skip_step
};

namespace trainer_detail {

/// Builds the training step's plan (or the host-driven optimizer's objective) and the inference
/// plan from the model and the extensions, and gives the parameters their first values.
void build(Trainer::Impl& m, const Model& model, const TrainerOptions& o, VariableStore& store);

/// The feeds of `data` for the model's plans: each array the model reads (its inputs and
/// targets), floating ones in the training dtype (data sets hold f32). UsageError naming the data
/// set and the array when one is missing, or when a classification target is not integer classes
/// of the output's width.
Feeds data_feeds(const Trainer::Impl& m, const Dataset& data, DType dtype);
/// The arrays `names` of `data` as feeds, floating ones in `dtype` (data_feeds: the model's data names).
Feeds named_feeds(const Dataset& data, const std::vector<std::string>& names, DType dtype);
/// Removes the temporaries of atomic writes in `dir` ("checkpoint.bin.tmp-PID" and the like) that
/// a killed process left: those whose process is gone.
void remove_stale_temporaries(const std::string& dir);
/// Every array the model reads is in `d`, and every classification target is a class of its output
/// (UsageError naming the data set, the example and the label; `role`: "training " ...).
void check_targets(const Trainer::Impl& m, const Dataset& d, const char* role);

/// The random inputs of one step, drawn in the order declared from one generator (a step's seed):
/// keep masks (1 with probability 1 - p) and Gaussian noise (standard deviation p).
void draw_random_inputs(const std::vector<RandomInput>& randoms, std::int64_t batch, std::uint64_t seed, Feeds& feeds);


}  // namespace trainer_detail
}  // namespace symgrad
