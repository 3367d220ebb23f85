#include "symgrad/graph/op_registry.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/names.hpp"

namespace symgrad {

void register_builtin_ops(OpRegistry& registry);        // framework/src/ops/*.cpp

OpRegistry& OpRegistry::global() {
  static OpRegistry* registry = [] {
    auto* r = new OpRegistry();  // never destroyed: plugins may hold pointers until exit
    register_builtin_ops(*r);
    return r;
  }();
  return *registry;
}

const OpDef& OpRegistry::add(OpDef def) {
  if (def.name.empty()) throw UsageError("an op needs a name");
  if (!def.infer) throw UsageError(fmt::format("op '{}' has no type inference", def.name));
  if (ops_.count(def.name)) {
    throw UsageError(fmt::format("op '{}' is already registered", def.name));
  }
  auto p = std::make_unique<OpDef>(std::move(def));
  const OpDef& ref = *p;
  ops_.emplace(ref.name, std::move(p));
  return ref;
}

const OpDef* OpRegistry::find(const std::string& name) const {
  auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : it->second.get();
}

const OpDef& OpRegistry::get(const std::string& name) const {
  if (const OpDef* op = find(name)) return *op;
  std::vector<std::string> names;
  for (const auto& [k, v] : ops_) names.push_back(k);
  throw UsageError(fmt::format("unknown op '{}'{}", name, did_you_mean(name, names)));
}

std::vector<const OpDef*> OpRegistry::all() const {
  std::vector<const OpDef*> out;
  for (const auto& [k, v] : ops_) out.push_back(v.get());
  return out;
}

}  // namespace symgrad
