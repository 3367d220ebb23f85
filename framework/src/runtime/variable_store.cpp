#include "symgrad/runtime/variable_store.hpp"

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

namespace symgrad {

void VariableStore::set(const std::string& name, Tensor value) { vars_[name] = std::move(value); }

Tensor& VariableStore::get(const std::string& name) {
  auto it = vars_.find(name);
  if (it == vars_.end()) throw FeedError(fmt::format("variable '{}' is not in the store", name));
  return it->second;
}

const Tensor& VariableStore::get(const std::string& name) const {
  return const_cast<VariableStore*>(this)->get(name);
}

std::vector<std::string> VariableStore::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : vars_) out.push_back(k);
  return out;
}

}  // namespace symgrad
