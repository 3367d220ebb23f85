#pragma once
/// @file
/// Short forms for writing an op in a plugin: type inference, an elementwise kernel for both float
/// dtypes, and sample inputs for the gradient checks.

#include <cstdint>

#include "symgrad/core/error.hpp"
#include "symgrad/graph/op_def.hpp"
#include "symgrad/runtime/kernel.hpp"

namespace symgrad {

/// Type inference of an op whose output has the type of its first input, which must be floating.
inline InferFn same_type_as_input() {
  return [](const InferContext& c) -> std::vector<TensorType> {
    if (c.inputs.empty()) c.fail("takes one input");
    const TensorType& t = c.inputs[0];
    if (!is_floating(t.dtype)) c.fail("takes a floating input, got " + t.to_string());
    return {t};
  };
}

/// A kernel computing out[i] = f(in[i]) for f32 and f64 tensors (one thread); `f` takes and returns the element
/// type (write it as a generic lambda: [](auto x) { return x / (1 + std::exp(-x)); }).
template <class F>
KernelFn elementwise_kernel(F f) {
  return [f](const KernelContext& c) {
    const Tensor& x = c.in(0);
    Tensor& y = c.out();
    auto run = [&](auto* out, const auto* in) {
      const std::int64_t n = x.numel();
      for (std::int64_t i = 0; i < n; ++i) out[i] = f(in[i]);
    };
    if (x.dtype() == DType::f32) {
      run(y.data<float>(), x.data<float>());
    } else if (x.dtype() == DType::f64) {
      run(y.data<double>(), x.data<double>());
    } else {
      throw ShapeError("op '" + c.node.op_name() + "': no kernel for " + x.type().to_string());
    }
  };
}

/// A floating sample input drawn uniformly from [low, high] (values within 0.1 of 0 are avoided
/// when the range spans 0, away from kinks).
inline SampleInput sample_floats(const Shape& shape, double low = -1.0, double high = 1.0) {
  SampleInput s;
  s.type = TensorType{DType::f64, shape};
  s.low = low;
  s.high = high;
  return s;
}

}  // namespace symgrad
