#pragma once
/// @file
/// Losses: the per-example loss of a model's output against its target, by name, with a checked
/// hyperparameter schema (as every component). Each is written with numerically stable forms
/// (log-sum-exp, softplus of -|z|) and reduces like torch's losses with reduction="mean": the
/// per-example value is the mean over the example's elements, and a model's loss is its mean over
/// the batch. Gradients come from the ops' pullbacks; tests/train/losses_test.cpp gradient-checks
/// each.
///
///   softmax_cross_entropy  integer classes [N]         -log softmax(z)_y                 (torch CrossEntropyLoss)
///   binary_cross_entropy   0..1 targets of z's shape   relu(z) - z y + softplus(-|z|)    (torch BCEWithLogitsLoss)
///   mse                    targets of the output's     (p - t)^2                         (torch MSELoss)
///   mae                    shape                       |p - t|                           (torch L1Loss)
///   huber (delta = 1)                                  d^2 / 2 if |d| < delta, else
///                                                      delta (|d| - delta / 2)           (torch HuberLoss)

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "symgrad/graph/graph.hpp"
#include "symgrad/plugin/hyperparams.hpp"

namespace symgrad {

/// What a loss's output predicts, which decides its targets and its metrics.
enum class Task {
  classification,  ///< one class of C per example: integer targets [N]; accuracy (and top-k)
  multilabel,      ///< independent 0/1 labels: targets of the output's shape; accuracy per label
  regression       ///< real values: targets of the output's shape; RMSE, MAE, R^2
};

/// A loss function.
class Loss {
 public:
  virtual ~Loss() = default;
  virtual Task task() const = 0;
  /// The per-example loss [N] of `output` ([N, ...]) against `target` (i32 [N] for classification,
  /// else the output's type).
  virtual Value per_example(Value output, Value target) const = 0;
};

/// A loss's name, documentation and schema, and how to make one from checked settings.
struct LossInfo {
  std::string name;
  std::string doc;
  Schema schema;
  std::function<std::unique_ptr<Loss>(const Hyperparams&)> make;
};

/// Every loss, in name order.
const std::vector<LossInfo>& losses();
/// The loss `name` made from `settings` (checked against its schema; UsageError naming `owner`, the
/// key and the range, or the nearest names for an unknown loss).
std::unique_ptr<Loss> make_loss(const std::string& name, const Settings& settings, const std::string& owner);

}  // namespace symgrad
