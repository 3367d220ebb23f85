#pragma once
/// @file
/// Gradient clipping as graph nodes, applied to the gradients before the optimizer's update.

#include <vector>

#include "symgrad/graph/graph.hpp"

namespace symgrad {

/// Every gradient times min(1, max_norm / (||g||_2 + 1e-6)), the norm taken over all of them
/// together (torch.nn.utils.clip_grad_norm_).
std::vector<Value> clip_by_global_norm(const std::vector<Value>& grads, double max_norm);

/// Every element clamped to [-clip_value, clip_value] (torch.nn.utils.clip_grad_value_).
std::vector<Value> clip_by_value(const std::vector<Value>& grads, double clip_value);

}  // namespace symgrad
