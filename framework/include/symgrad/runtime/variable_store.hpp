#pragma once
/// @file
/// Named state that outlives a step: parameters, optimizer slots, running statistics.

#include <map>
#include <string>
#include <vector>

#include "symgrad/core/tensor.hpp"

namespace symgrad {

/// Tensors under hierarchical names (`dense1/W`, `dense1/W/adam/m`). A plan reads the variables
/// of its graph from a store and writes its updates back into the same tensors.
class VariableStore {
 public:
  /// Sets (or replaces) the tensor of `name`.
  void set(const std::string& name, Tensor value);
  bool has(const std::string& name) const { return vars_.count(name) != 0; }
  /// Removes `name` (nothing when absent).
  void erase(const std::string& name) { vars_.erase(name); }
  /// The tensor of `name`; throws FeedError naming it when absent.
  Tensor& get(const std::string& name);
  const Tensor& get(const std::string& name) const;
  /// Names in sorted order.
  std::vector<std::string> names() const;

 private:
  std::map<std::string, Tensor> vars_;
};

}  // namespace symgrad
