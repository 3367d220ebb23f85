#pragma once
/// @file
/// Probes: extensions that measure the training objective's landscape while training goes on (the
/// curvature strategy's Hessian eigenvalues every K steps). An extension (regularizer or strategy)
/// that also derives from ObjectiveProbe is given, before training starts, the objective on a
/// fixed batch of training examples as a function of the trainable parameters. It may evaluate it
/// at any callback point: value, gradient, Hessian-vector products, or a dense Hessian for small
/// models. These are small plans of its own, compiled on first use beside the training step,
/// which they leave as it was.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "symgrad/plugin/optimizer.hpp"

namespace symgrad {

/// What a probe is given (ObjectiveProbe::attach); it lives until fit() returns.
struct ProbeContext {
  /// The objective the optimizer minimizes (the data loss with the penalties, in training mode:
  /// dropout masks and noise drawn once, batch normalization on the batch's statistics) on the
  /// fixed batch. Evaluating it at x writes x into the parameters: evaluate it at parameters(),
  /// or evaluate there last, so that training goes on from where it was.
  Objective* objective = nullptr;
  /// The trainable parameters' current values, flattened in model order (the objective's x).
  std::function<std::vector<double>()> parameters;
  std::vector<std::string> names;  ///< the trainable parameters, in model order
  std::vector<std::size_t> sizes;  ///< their element counts: the slices of x, in order
  std::int64_t examples = 0;       ///< examples in the fixed batch
};

/// The second base of an extension that probes the objective.
class ObjectiveProbe {
 public:
  virtual ~ObjectiveProbe() = default;
  /// Examples in the fixed batch: the first n of a shuffle of the training set seeded by the run's
  /// seed (the whole set when n is 0 or larger). The same on every process of a data-parallel run.
  virtual std::int64_t probe_examples() const = 0;
  /// Called by the trainer at the start of each fit(), before on_train_begin.
  virtual void attach(const ProbeContext& ctx) = 0;
};

}  // namespace symgrad
