#pragma once
/// @file
/// Early stopping's two ways of using the validation data once the best point is known
/// (Goodfellow, Bengio and Courville, "Deep Learning", section 7.8):
///  - Algorithm 7.2, "from_scratch": a new model from its first values, trained on the training
///    and validation data together for the number of steps the first run took to its best epoch;
///  - Algorithm 7.3, "continue": the first run's best model goes on training on both, until its
///    loss on the validation data falls below its loss on the training data at the best point
///    (at most the experiment's number of epochs: the book notes it need not end otherwise).
/// An experiment asks for one with `retrain` in its early_stopping table. The trainer knows no
/// plugin by name: the component that chooses the stopping point is the one whose schema has a
/// `retrain` setting, and it keeps the step it chose as "<its name>/best_step" in the store.

#include <memory>
#include <string>

#include "symgrad/train/experiment.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {

struct Retraining {
  std::unique_ptr<Trainer> trainer;  ///< trained on training + validation data
  std::int64_t steps = 0;            ///< steps it took
  double target = 0;                 ///< "continue": the training loss at the best point
  std::vector<EpochRecord> records;
};

/// The `retrain` setting of the experiment's component that chooses the stopping point ("none"
/// without one).
std::string retraining_of(const Experiment& x);

/// Retrains after `first`, a finished run of `x` with early stopping (its store holds
/// "<component>/best_step" and the best weights), by `how`: "from_scratch" or "continue". The
/// new run writes to `output_dir` ("" for none).
Retraining retrain_after_early_stopping(const Experiment& x, const ExperimentData& data, Trainer& first,
                                        const std::string& how, const std::string& output_dir);

}  // namespace symgrad
