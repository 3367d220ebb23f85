#pragma once
// Small helpers shared by the test suites.

#include <vector>

#include "symgrad/core/tensor.hpp"

namespace symgrad::testing {

/// A 1-D f64 tensor of the given values.
inline Tensor vec(const std::vector<double>& v) {
  return Tensor::from(DType::f64, Shape{static_cast<std::int64_t>(v.size())}, v);
}

}  // namespace symgrad::testing
