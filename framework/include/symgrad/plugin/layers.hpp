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
/// `synchronized`: in data-parallel training the batch statistics are the whole batch's, summed
/// over the processes with cross_replica_sum in the forward pass and, through its pullback, in the
/// backward pass (torch.nn.SyncBatchNorm): training is then one process's within rounding, and the
/// running statistics are the same on every process. Otherwise (the default, as in torch's
/// DistributedDataParallel) each process normalizes with its own shard's statistics. In one
/// process both are the same normalization (the synchronized one built from elementwise ops and
/// sums instead of the fused batch_norm op).
Value batch_norm_layer(ModelContext& ctx, Value h, const std::string& name, double momentum, double eps,
                       bool synchronized = false);

/// Inverted dropout of h in training (a keep mask "<name>/mask" drawn every step; kept units
/// scaled by 1 / (1 - p)); the identity in inference.
Value dropout_layer(ModelContext& ctx, Value h, const std::string& name, double p);

}  // namespace symgrad
