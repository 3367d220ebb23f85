#pragma once
/// @file
/// Symbolic differentiation: a graph -> graph transform. The gradient of a graph is more graph
/// (new nodes, marked as gradient nodes), so gradients of gradients work.

#include <vector>

#include "symgrad/graph/graph.hpp"

namespace symgrad {

/// Policy of gradients().
struct GradientOptions {
  /// false: asking for the gradient of a value the loss does not depend on is a GradientError;
  /// true: that gradient is zeros of the value's type.
  bool allow_disconnected = false;
  /// false: total derivatives (a wrt value that depends on another wrt value passes gradient on
  /// to it); true: partial derivatives, each wrt value taken as an independent input (nothing is
  /// differentiated upstream of a wrt value). Pullbacks written as formulas of their inputs use it.
  bool independent_wrt = false;
};

/// d loss / d wrt[i] for a scalar `loss`, as new nodes of the same graph. Only nodes on a path
/// from a wrt value to the loss are differentiated; a value used in several places gets the sum
/// of its gradients. Throws GradientError when a needed gradient is undefined or not implemented
/// (naming the op and node), or is disconnected and not allowed.
std::vector<Value> gradients(Value loss, const std::vector<Value>& wrt,
                             const GradientOptions& options = {});

/// Vector-Jacobian product: sum_j seeds[j]^T d ys[j] / d wrt[i] for outputs of any shape
/// (seeds[j] has ys[j]'s type).
std::vector<Value> vjp(const std::vector<Value>& ys, const std::vector<Value>& seeds,
                       const std::vector<Value>& wrt, const GradientOptions& options = {});

/// H v, the Hessian of a scalar `loss` with respect to `params` times the direction `v` (one
/// value per parameter, same types), by differentiating <grad loss, v> again.
std::vector<Value> hessian_vector_product(Value loss, const std::vector<Value>& params,
                                          const std::vector<Value>& v);

/// The dense Hessian [n, n] of a scalar `loss` with respect to a parameter of n elements (any
/// static shape, flattened row-major). Builds n gradient rows: meant for small n.
Value hessian(Value loss, Value param);

}  // namespace symgrad
