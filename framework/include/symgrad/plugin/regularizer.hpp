#pragma once
/// @file
/// The regularizer interface: an Extension (extension.hpp) whose usual points are a penalty term
/// added to the loss and a projection after the update (max-norm); it may use any other point
/// (noise on layer outputs, early stopping's callbacks).

#include "symgrad/plugin/extension.hpp"

namespace symgrad {

/// A regularizer. Its extend_step calls project() for every trainable parameter; override
/// extend_step itself for anything else after the update.
class Regularizer : public Extension {
 public:
  /// The parameter's value after the optimizer's update, constrained; unchanged by default.
  virtual Value project(const NamedParam& param, Value updated);
  void extend_step(StepContext& ctx) override;
};

}  // namespace symgrad
