#pragma once
/// @file
/// The registry of ops (their kernels: runtime/kernel.hpp).

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "symgrad/graph/op_def.hpp"

namespace symgrad {

/// Maps op names to definitions. The global registry holds every built-in op from its first use; plugins (a later layer) add to it. Definitions never move once added.
class OpRegistry {
 public:
  /// The process-wide registry, with the built-in ops registered.
  static OpRegistry& global();

  /// Adds an op; throws UsageError if the name is taken or infer is missing.
  const OpDef& add(OpDef def);
  /// The op, or a UsageError that suggests the nearest names.
  const OpDef& get(const std::string& name) const;
  const OpDef* find(const std::string& name) const;
  /// Every op, in name order.
  std::vector<const OpDef*> all() const;

 private:
  std::map<std::string, std::unique_ptr<OpDef>> ops_;
};

}  // namespace symgrad
