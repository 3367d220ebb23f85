#pragma once
/// @file
/// Bagging (Breiman, "Bagging Predictors", Machine Learning 24, 1996; Goodfellow, Bengio and
/// Courville, "Deep Learning", section 7.11): k models of an experiment, each trained on its own
/// bootstrap resample of the training set (n draws with replacement, seeded by the member) and
/// with its own initialization; predictions combined by averaging the members' softmax
/// probabilities, or by a majority vote of their predicted classes (ties: the lower class).

#include <cstdint>
#include <string>
#include <vector>

#include "symgrad/train/experiment.hpp"

namespace symgrad {

struct EnsembleResult {
  std::vector<Evaluation> members;  ///< each member on the test set
  double mean_member_accuracy = 0;
  double averaged_accuracy = 0;  ///< argmax of the mean probabilities
  double vote_accuracy = 0;      ///< the majority of the members' classes
};

/// Trains `k` members of experiment `x` on bootstrap resamples of `data.train` and evaluates them
/// and their combinations on `data.test`. Member i writes to `<output_dir>/member<i>` when
/// `output_dir` is not empty.
EnsembleResult train_bagging(const Experiment& x, const ExperimentData& data, std::int64_t k,
                             const std::string& output_dir = "");

}  // namespace symgrad
