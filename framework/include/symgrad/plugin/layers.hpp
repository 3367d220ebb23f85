#pragma once
/// @file
/// Layers built through a ModelContext, shared by the model builder (train/model.hpp) and by
/// extensions that insert them into a model that has none (the batch_norm strategy, the dropout
/// regularizer): the same variables, the same training and inference behaviour.

#include <string>

#include "symgrad/plugin/extension.hpp"

namespace symgrad {

/// Batch normalization of h ([N, C] or [N, C, H, W]) over the batch (and H, W), with scale
/// "<name>/gamma" (ones) and shift "<name>/beta" (zeros), and running statistics
/// "<name>/running_mean", "<name>/running_var" (unbiased) updated in training as
/// r = (1 - momentum) r + momentum batch (torch.nn.BatchNorm's semantics); inference normalizes
/// with the running statistics.
Value batch_norm_layer(ModelContext& ctx, Value h, const std::string& name, double momentum, double eps);

/// Inverted dropout of h in training (a keep mask "<name>/mask" drawn every step; kept units
/// scaled by 1 / (1 - p)); the identity in inference.
Value dropout_layer(ModelContext& ctx, Value h, const std::string& name, double p);

}  // namespace symgrad
