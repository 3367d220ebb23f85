#pragma once
// The parts of Trainer::fit's epoch loop (trainer.cpp), each owning one concern: an epoch's batches
// (order, gather, the extensions' transforms, random inputs), one step with its named outputs and
// the NaN policy (plain or data-parallel), the epoch's sums and its record, and when to write a
// checkpoint. Internal to framework/src/train.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "metrics.hpp"
#include "non_finite.hpp"
#include "trainer_impl.hpp"

namespace symgrad::trainer_detail {

/// One epoch's batches: the order of its examples (a seeded shuffle, then the extensions' say:
/// curriculum reorders or keeps a part) cut into batches of the batch size.
class EpochBatches {
 public:
  EpochBatches(const Trainer::Impl& m, const Dataset& train, const TrainerOptions& o, std::int64_t epoch,
               std::function<std::vector<double>()> example_losses);
  std::int64_t examples() const { return static_cast<std::int64_t>(order_.size()); }
  std::int64_t count() const { return (examples() + batch_ - 1) / batch_; }

  struct Batch {
    Dataset data;  ///< its examples, gathered (its own copy)
    Feeds feeds;   ///< the plans' feeds: the arrays the model reads, transformed, and the random inputs
  };
  /// Batch k, for optimizer step `step` (the seeds of its transforms and random inputs).
  Batch get(std::int64_t k, std::int64_t step) const;

 private:
  const Trainer::Impl& m_;
  const Dataset& train_;
  const TrainerOptions& o_;
  std::int64_t epoch_, batch_;
  std::vector<std::int64_t> order_;
};

/// What one step gave, by name (the step plan's outputs are the loss, the objective, the first
/// output and one gradient norm per parameter).
struct StepResult {
  /// Not empty: the step had non-finite values and was undone (nan_policy stop or skip_step); what
  /// was found, where, and the first op that made it.
  std::string undone;
  double loss = 0, objective = 0;
  Score score;                     ///< the batch's metric sums (every rank's, data-parallel)
  std::vector<double> grad_norms;  ///< per parameter, in Impl::param_names' order
  std::vector<double> reports;     ///< in Impl::report_names' order
};

/// Runs training steps (on one process, or data-parallel) under the NaN policy: with `raise` a
/// step with a non-finite value, or one that fails, throws naming the step (and, the store being
/// written in place, marks it incomplete and says whether a checkpoint is left); with `stop` and
/// `skip_step` the variables a step writes are copied first, and a bad step is undone and described.
/// Where an epoch's time went, for its metrics row.
struct StepClocks {
  double steps = 0;  ///< seconds in the steps' plans (data-parallel: with their sums), or host-driven iterations
  double comm = 0;   ///< data-parallel: seconds of those spent on the sums over the ranks
};

class StepRunner {
 public:
  StepRunner(Trainer::Impl& m, VariableStore& store, const TrainerOptions& o, Communicator* comm,
             std::string checkpoint);
  /// Step m.steps + 1 of `epoch` on its batch number `batch_number` (1-based: a skip_step
  /// message names the batch, the step being tried again on the next one).
  StepResult run(const EpochBatches::Batch& batch, std::int64_t epoch, std::int64_t batch_number);
  /// Under nan_policy raise, where a step checks only the parameters it writes: the other
  /// variables the steps write (optimizer slots, running statistics, averages), checked once at
  /// the end of `epoch`, before its row and checkpoint; an Error naming the first non-finite one.
  void check_epoch(std::int64_t epoch);
  /// The clocks of the steps run since the last reset (a host-driven iteration adds its own).
  StepClocks& clocks() { return clocks_; }
  void reset_clocks() { clocks_ = {}; }

 private:
  Error incomplete(const std::string& what, std::int64_t epoch) const;
  Trainer::Impl& m_;
  VariableStore& store_;
  const TrainerOptions& o_;
  Communicator* comm_;
  std::string checkpoint_;
  bool undoable_;
  std::vector<std::string> written_;  // the variables a step writes
  // the written variables checked after every step: all of them when a step can be undone (its
  // state must be exact), else the parameters only (the rest at the epoch's end: check_epoch). A
  // step's parameters are what the next step computes with, and a NaN there can hide behind a
  // ReLU; checking every slot too cost 18% of a Fashion-MNIST epoch with Adam.
  std::vector<std::string> checked_;
  StepSnapshot snapshot_;
  StepClocks clocks_;
};

/// One epoch's sums over its steps, and from them its record and its row of the metrics file.
class EpochTotals {
 public:
  EpochTotals(const Trainer::Impl& m, const VariableStore& store, std::int64_t epoch, std::int64_t examples);
  void add(const StepResult& step, std::int64_t batch_size);  ///< a step taken
  void skip(std::int64_t batch_size);                        ///< a step undone (skip_step)
  /// A host-driven iteration: the whole training set's loss, objective and metric.
  void add_host(double loss, double objective, double metric);
  std::int64_t batches() const { return batches_; }  ///< steps tried: taken and skipped
  std::int64_t skipped() const { return skipped_; }
  /// The record, the metrics row (without validation: `validate` adds it) and the callbacks'
  /// metrics, from the sums and the parameters' change over the epoch.
  EpochRecord record(std::vector<std::pair<std::string, double>>& row, std::map<std::string, double>& metrics) const;
  /// The validation set's figures: its loss and metric (and every output's, for a model of
  /// several losses or one that is not a classifier) in the record, the row and the metrics.
  void add_validation(const Evaluation& v, EpochRecord& r, std::vector<std::pair<std::string, double>>& row,
                      std::map<std::string, double>& metrics) const;
  /// The rest of the row: learning rate, seconds (and of them in the steps' plans), steps and
  /// seconds since training began, communication, skipped steps, per parameter the
  /// mean gradient norm and the update / weight norm ratio of the epoch, and the extensions'
  /// reported values (their means over the epoch's steps).
  void finish_row(std::vector<std::pair<std::string, double>>& row, const EpochRecord& r, const TrainerOptions& o,
                  const StepClocks& clocks) const;

 private:
  const Trainer::Impl& m_;
  const VariableStore& store_;
  std::int64_t epoch_, examples_;
  std::map<std::string, Tensor> before_;  // the parameters at the epoch's start (update / weight ratios)
  double loss_sum_ = 0, objective_sum_ = 0, host_metric_ = 0;
  Score score_;
  std::vector<double> grad_norms_;
  std::vector<double> reports_;  // sums over the steps taken, in Impl::report_names' order
  std::int64_t batches_ = 0, skipped_ = 0, skipped_examples_ = 0;
};

/// When fit() writes its checkpoint: after the last epoch, when training stops, and otherwise at
/// the end of an epoch once `checkpoint_seconds` have passed since the last one.
class CheckpointClock {
 public:
  explicit CheckpointClock(double seconds) : seconds_(seconds) {}
  bool due(bool last_or_stopped) const {
    return last_or_stopped ||
           std::chrono::duration<double>(std::chrono::steady_clock::now() - last_).count() >= seconds_;
  }
  void written() { last_ = std::chrono::steady_clock::now(); }

 private:
  double seconds_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace symgrad::trainer_detail
