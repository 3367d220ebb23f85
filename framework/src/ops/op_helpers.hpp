#pragma once
// Shared pieces of op definitions: broadcasting, dtype checks, axis lists, sample builders.
// Internal to framework/src/ops.

#include <cstdint>
#include <string>
#include <vector>

#include "symgrad/graph/op_def.hpp"
#include "symgrad/graph/op_registry.hpp"
#include "symgrad/ops/ops.hpp"

namespace symgrad::ops_detail {

/// NumPy broadcast of two shapes; an open dimension against n is taken as n (checked at run time
/// when the shapes are concrete). Throws ShapeError.
Shape broadcast_shapes(const Shape& a, const Shape& b);

/// Input `i` must have a floating dtype.
void require_float(const InferContext& ctx, std::size_t i);
/// All inputs must share input 0's dtype.
void require_same_dtype(const InferContext& ctx);
/// Input `i` must have rank `rank`.
void require_rank(const InferContext& ctx, std::size_t i, std::size_t rank);


/// Gradient `g` of a broadcast result, summed back to the shape of operand `x`, whose fellow
/// operands are `others`. No sum is added when the shapes are equal and every open dimension of
/// x faces, in each other operand, a missing or static 1 dimension (so x cannot be broadcast
/// there at run time): the gradient then does not depend on x's value.
Value unbroadcast(Value g, Value x, const std::vector<Value>& others);
/// `g`, the gradient of a reduction of `x` over `axes`, reshaped to keepdims form.
Value keepdims_grad(Value g, Value x, const std::vector<std::int64_t>& axes, bool keepdims);

/// A floating sample input drawn from [low, high].
SampleInput floats(const Shape& shape, double low = -1.0, double high = 1.0);
/// A fixed, non-differentiable input.
SampleInput fixed(const Tensor& value);
/// A fixed 0/1 mask (f64) with a deterministic pattern.
SampleInput mask(const Shape& shape);

/// Registers an op whose inputs are `names`-free; a short form for the op files.
/// `d`, marked as a view of its first input when sizes agree (OpDef::view_when_same_size).
inline OpDef view_when_same_size(OpDef d) {
  d.view_when_same_size = true;
  return d;
}

OpDef make_op(std::string name, std::string doc, int arity, InferFn infer, PullbackFn pullback,
              SamplesFn samples);

/// Adds op-family registrations (one function per file under framework/src/ops).
void register_elementwise_ops(OpRegistry& r);
void register_reduce_ops(OpRegistry& r);
void register_shape_ops(OpRegistry& r);
void register_matmul_ops(OpRegistry& r);
void register_nn_ops(OpRegistry& r);
void register_conv_ops(OpRegistry& r);
void register_pool_ops(OpRegistry& r);
void register_collective_ops(OpRegistry& r);
void register_batch_norm_ops(OpRegistry& r);
void register_activation_backward_ops(OpRegistry& r);

/// g times the derivative of an activation, from its output y: op is "relu_backward",
/// "tanh_backward" or "sigmoid_backward".
Value activation_backward(const std::string& op, Value g, Value y);
/// The gradient of z from the gradient g of y = act(z), act "none", "relu", "tanh" or "sigmoid".
Value activation_grad(Value g, Value y, const std::string& act);
/// The "activation" attribute must be one of those; a ShapeError otherwise.
void check_activation(const InferContext& ctx);

}  // namespace symgrad::ops_detail
