#pragma once
/// @file
/// The loss interface: a plugin kind (plugins/losses/<name>/). A loss gives the per-example loss
/// [N] of a model's output against its target; the model's loss is its mean over the batch
/// (torch's reduction="mean"), weighted and summed over the model's losses (train/model.hpp). Its
/// task decides the targets it takes and the metrics the trainer reports for its output.
/// Gradients come from the ops' pullbacks: a loss is a graph of ops, gradient-checked like one.
///
/// @code
/// class Mse final : public symgrad::Loss {
///  public:
///    symgrad::Task task() const override { return symgrad::Task::regression; }
///    symgrad::Value per_example(symgrad::Value p, symgrad::Value t) const override {
///      symgrad::require_target_like("mse", p, t);
///      return symgrad::per_example_mean(symgrad::square(p - t));
///    }
/// };
/// @endcode

#include "symgrad/autodiff/gradcheck.hpp"
#include "symgrad/graph/graph.hpp"

namespace symgrad {

/// What a loss's output predicts, which decides its targets and its metrics.
enum class Task {
  classification,  ///< one class of C per example: integer targets i32[N]; accuracy (and top-5)
  multilabel,      ///< independent 0/1 labels: targets of the output's shape; accuracy per label
  regression       ///< real values: targets of the output's shape; RMSE, MAE, R^2
};

/// "classification", "multilabel", "regression".
const char* to_string(Task t);

/// A loss function.
class Loss {
 public:
  virtual ~Loss() = default;
  virtual Task task() const = 0;
  /// The per-example loss [N] of `output` ([N, ...]) against `target` (i32 [N] for
  /// classification, else of the output's type). Throws ShapeError for an output or target it
  /// cannot take, naming the loss and the types.
  virtual Value per_example(Value output, Value target) const = 0;
};

/// The mean of `v` over every axis but the batch's: [N, ...] -> [N] (v itself when [N]). torch's
/// reduction="mean" of an elementwise loss, per example.
Value per_example_mean(Value v);
/// Throws ShapeError naming `loss` unless `target` has `output`'s type (regression and multi-label
/// targets).
void require_target_like(const char* loss, Value output, Value target);

/// The gradient check of a loss (`symgrad plugins check` runs it): the mean of its per-example
/// loss over a batch of 3 outputs [3, 4] in f64, against classes (classification) or targets of the
/// output's shape whose differences from the outputs stay away from 0 and +-1 (the kinks of mae
/// and of huber's default delta), checked against central differences (autodiff/gradcheck.hpp).
GradcheckResult gradcheck_loss(const Loss& loss, const GradcheckOptions& options = {});

}  // namespace symgrad
