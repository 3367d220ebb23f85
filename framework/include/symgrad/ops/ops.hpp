#pragma once
/// @file
/// The builder API: free functions that add op nodes to the graph of their inputs, with NumPy
/// broadcasting, so a model reads like math:
/// @code
///   auto h = relu(matmul(x, W) + b);
///   auto loss = mean(softmax_cross_entropy(h, y));
/// @endcode
/// Every function checks types when called and throws ShapeError naming the op and node.

#include <cstdint>
#include <string>
#include <vector>

#include "symgrad/graph/graph.hpp"

namespace symgrad {

using Axes = std::vector<std::int64_t>;

// ---- elementwise, binary (NumPy broadcasting; both operands of one floating dtype) ----------
Value add(Value a, Value b);
Value sub(Value a, Value b);
Value mul(Value a, Value b);
Value div(Value a, Value b);
Value operator+(Value a, Value b);
Value operator-(Value a, Value b);
Value operator*(Value a, Value b);
Value operator/(Value a, Value b);
/// With a scalar: the scalar becomes a constant of the value's dtype.
Value operator+(Value a, double b);
Value operator+(double a, Value b);
Value operator-(Value a, double b);
Value operator-(double a, Value b);
Value operator*(Value a, double b);
Value operator*(double a, Value b);
Value operator/(Value a, double b);
Value operator/(double a, Value b);
Value operator-(Value a);

// ---- elementwise, unary ------------------------------------------------------------------
Value neg(Value x);
Value exp(Value x);
Value log(Value x);
Value sin(Value x);
Value cos(Value x);
Value sqrt(Value x);
Value square(Value x);
Value abs(Value x);
/// -1, 0 or 1; its gradient is zero (disconnected).
Value sign(Value x);
/// x^p for a real scalar p.
Value pow(Value x, double p);
Value relu(Value x);
/// x for x > 0, alpha x otherwise (PyTorch's default alpha is 0.01).
Value leaky_relu(Value x, double alpha = 0.01);
Value sigmoid(Value x);
Value tanh(Value x);
/// log(1 + e^x), computed stably.
Value softplus(Value x);

// ---- comparisons: 1 where true, 0 where false, in the operands' dtype; no gradient --------
Value equal(Value a, Value b);
Value not_equal(Value a, Value b);
Value less(Value a, Value b);
Value less_equal(Value a, Value b);
Value greater(Value a, Value b);
Value greater_equal(Value a, Value b);
/// mask != 0 ? a : b, with broadcasting of all three. The mask gets no gradient.
Value where(Value mask, Value a, Value b);

// ---- linear algebra and shapes -------------------------------------------------------------
/// [..., m, k] x [..., k, n] -> [..., m, n]; leading (batch) dimensions broadcast. A 2-D
/// matmul is the special case with no batch dimensions. transpose_a / transpose_b use an
/// operand's last two axes swapped (no transpose is materialized).
Value matmul(Value a, Value b, bool transpose_a = false, bool transpose_b = false);
/// act(x w + b) for x [N, K], w [K, M], b [M]; activation is "none", "relu", "tanh" or
/// "sigmoid". One kernel on oneDNN (matmul with bias and an eltwise post-op); plans on fusing
/// backends also form it from separate matmul, add and activation nodes.
Value linear(Value x, Value w, Value b, const std::string& activation = "none");
/// Permutes axes; an empty `perm` reverses them (NumPy's .T).
Value transpose(Value x, Axes perm = {});
/// Swaps the last two axes.
Value matrix_transpose(Value x);
/// Same elements, another shape; one dimension may be -1 (inferred).
Value reshape(Value x, const Shape& shape);
Value broadcast_to(Value x, const Shape& shape);
/// Joins along `axis`.
Value concat(const std::vector<Value>& xs, std::int64_t axis);
/// x[begin : begin + size] along every axis; a size of -1 runs to the end.
Value slice(Value x, Axes begins, Axes sizes);
/// Element i of a 1-D x, as a scalar (a slice reshaped).
Value element(Value x, std::int64_t i);
/// Converts the dtype (no gradient across int/float).
Value cast(Value x, DType dtype);

// ---- reductions (empty axes: all axes) -----------------------------------------------------
Value sum(Value x, Axes axes = {}, bool keepdims = false);
Value mean(Value x, Axes axes = {}, bool keepdims = false);
/// The gradient goes to the maxima, shared equally between ties (as torch.amax).
Value max(Value x, Axes axes = {}, bool keepdims = false);

// ---- neural network ----------------------------------------------------------------------
Value softmax(Value x, std::int64_t axis = -1);
Value log_softmax(Value x, std::int64_t axis = -1);
/// Per-example cross-entropy of logits [N, C] against integer labels [N] (i32 or i64), as one
/// numerically stable op (log-sum-exp): returns [N]. Labels outside [0, C) are an error at run time.
Value softmax_cross_entropy(Value logits, Value labels);
/// Mean squared error: mean((prediction - target)^2), a scalar.
Value mse(Value prediction, Value target);
/// Inverted dropout with a given 0/1 mask: x * mask / (1 - p).
Value dropout(Value x, Value mask, double p);
/// 2-D convolution, NCHW input and OIHW weights (cross-correlation, as PyTorch).
Value conv2d(Value x, Value w, Axes stride = {1, 1}, Axes padding = {0, 0});
/// act(conv2d(x, w) + b) with a per-channel bias b [1, O, 1, 1] (or [O, 1, 1]); activation is
/// "none", "relu", "tanh" or "sigmoid". One oneDNN convolution with bias and post-op; plans on
/// fusing backends also form it from separate conv2d, add and activation nodes.
Value conv2d_bias(Value x, Value w, Value b, Axes stride = {1, 1}, Axes padding = {0, 0},
                  const std::string& activation = "none");
Value max_pool2d(Value x, Axes kernel, Axes stride = {}, Axes padding = {0, 0});
/// Average pooling; padded elements count in the divisor (PyTorch's count_include_pad=True).
Value avg_pool2d(Value x, Axes kernel, Axes stride = {}, Axes padding = {0, 0});

/// Outputs of batch normalization in training mode.
struct BatchNormOutputs {
  Value y;     ///< gamma * (x - mean) / sqrt(var + eps) + beta
  Value mean;  ///< batch mean per channel [C]
  Value var;   ///< biased batch variance per channel [C]
};
/// Batch normalization with batch statistics, over N for [N, C] and over N, H, W for
/// [N, C, H, W]; gamma and beta are [C].
BatchNormOutputs batch_norm(Value x, Value gamma, Value beta, double eps = 1e-5);
/// Batch normalization at inference, with given running statistics [C].
Value batch_norm_inference(Value x, Value gamma, Value beta, Value running_mean,
                           Value running_var, double eps = 1e-5);

// ---- helpers that gradients are built from (public: plugins' pullbacks use them) -----------
/// Sums x over the axes on which `like` was broadcast, giving like's shape.
Value sum_to_like(Value x, Value like);
/// Broadcasts x to the shape of `like` (known at run time).
Value broadcast_like(Value x, Value like);
/// Zeros (or `value`) of x's type.
Value fill_like(Value x, double value);
Value zeros_like(Value x);
/// The number of elements of x over `axes` (all when empty), as a scalar of x's dtype.
Value count(Value x, Axes axes = {});
/// The sum of x over the processes of data-parallel training, the same on every process (the
/// communicator in the plan's CompileOptions; torch.distributed.all_reduce, TF's
/// cross_replica_sum); x itself in a plan without one. Its gradient is the sum of the processes'
/// gradients. Synchronized batch normalization sums its statistics with it.
Value cross_replica_sum(Value x);
/// One-hot rows [N, depth] of integer labels [N].
Value one_hot(Value labels, std::int64_t depth, DType dtype);

}  // namespace symgrad
