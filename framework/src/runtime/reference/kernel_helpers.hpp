#pragma once
// Shared pieces of the reference kernels: dtype dispatch, strides, broadcast iteration.
// The reference backend is plain loops, written to be obviously correct: it is the oracle of
// the tests and the backend of gradient checking.

#include <cmath>
#include <cstdint>
#include <vector>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/graph/op_def.hpp"
#include "symgrad/graph/op_registry.hpp"
#include "symgrad/runtime/kernel.hpp"

namespace symgrad::reference {

/// Calls f(T{}) with T float or double; any other dtype is a ShapeError naming the node.
template <class F>
void dispatch_float(const KernelContext& c, DType t, F&& f) {
  if (t == DType::f32) {
    f(float{});
  } else if (t == DType::f64) {
    f(double{});
  } else {
    throw ShapeError(fmt::format("{}: reference kernel needs f32 or f64, got {}", c.node.label(),
                                 to_string(t)));
  }
}

/// Row-major strides of a shape.
std::vector<std::int64_t> strides_of(const Shape& s);

/// Strides that read `in` while walking the larger `out` shape (NumPy broadcasting, right
/// aligned): 0 on axes where `in` has size 1 or is missing.
std::vector<std::int64_t> broadcast_strides(const Shape& in, const Shape& out);

/// Walks every index of `shape` in row-major order, keeping one offset per stride vector, and
/// calls f(linear_index, offsets).
template <class F>
void for_each_offset(const Shape& shape, const std::vector<std::vector<std::int64_t>>& strides,
                     F&& f) {
  const std::size_t rank = shape.rank();
  const std::int64_t n = shape.numel();
  std::vector<std::int64_t> idx(rank, 0), off(strides.size(), 0);
  for (std::int64_t i = 0; i < n; ++i) {
    f(i, off);
    for (std::size_t d = rank; d-- > 0;) {
      ++idx[d];
      for (std::size_t k = 0; k < strides.size(); ++k) off[k] += strides[k][d];
      if (idx[d] < shape[d]) break;
      for (std::size_t k = 0; k < strides.size(); ++k) off[k] -= strides[k][d] * idx[d];
      idx[d] = 0;
    }
  }
}

/// Splits `shape` around `axis` into (outer, n, inner) extents.
struct AxisSplit {
  std::int64_t outer = 1, n = 1, inner = 1;
};
AxisSplit split_at(const Shape& shape, std::int64_t axis);

/// The activation of a fused layer op (linear, conv2d_bias), read once from its attribute.
enum class Activation { none, relu, tanh, sigmoid };
Activation activation_of(const Attrs& attrs);

/// sigmoid written so that it never overflows.
template <class T>
T stable_sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

/// Applies `act` to n values in place.
template <class T>
void activate(Activation act, T* v, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    if (act == Activation::relu) v[i] = v[i] > T(0) ? v[i] : T(0);
    if (act == Activation::tanh) v[i] = std::tanh(v[i]);
    if (act == Activation::sigmoid) v[i] = stable_sigmoid(v[i]);
  }
}

void register_elementwise_kernels(KernelRegistry& r);
void register_reduce_kernels(KernelRegistry& r);
void register_shape_kernels(KernelRegistry& r);
void register_matmul_kernels(KernelRegistry& r);
void register_nn_kernels(KernelRegistry& r);
void register_conv_kernels(KernelRegistry& r);
void register_pool_kernels(KernelRegistry& r);
void register_collective_kernels(KernelRegistry& r);
void register_batch_norm_kernels(KernelRegistry& r);

inline constexpr const char* kBackend = "reference";

}  // namespace symgrad::reference
