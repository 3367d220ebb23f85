#pragma once
/// @file
/// The initializer interface: a parameter's first value (zeros, random normal, He, Glorot, ...).

#include <cstdint>
#include <string>

#include "symgrad/core/tensor.hpp"

namespace symgrad {

/// What an initializer is asked for: one parameter's first value.
struct InitRequest {
  std::string name;          ///< the parameter, e.g. "dense1/W"
  TensorType type;           ///< static type
  std::int64_t fan_in = 1;   ///< inputs feeding one output unit (He and Glorot scale by these)
  std::int64_t fan_out = 1;  ///< outputs fed by one input unit
  std::uint64_t seed = 0;    ///< the same seed, name and type give the same tensor
};

/// Makes parameters' first values (zeros, random normal, He, Glorot, ...).
class Initializer {
 public:
  virtual ~Initializer() = default;
  virtual Tensor initial_value(const InitRequest& request) = 0;
};

}  // namespace symgrad
