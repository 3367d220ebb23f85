#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/graph/op_registry.hpp"
#include "symgrad/runtime/kernel.hpp"

namespace symgrad {

void register_reference_kernels(KernelRegistry& registry);  // framework/src/runtime/reference/*.cpp
void register_onednn_kernels(KernelRegistry& registry);     // framework/src/runtime/onednn/*.cpp

KernelRegistry& KernelRegistry::global() {
  static KernelRegistry* registry = [] {
    auto* r = new KernelRegistry();  // never destroyed: plans and plugins may hold pointers until exit
    register_reference_kernels(*r);
    register_onednn_kernels(*r);
    return r;
  }();
  return *registry;
}

namespace {
void check_op(const std::string& op, const std::string& backend) {
  if (OpRegistry::global().find(op) == nullptr) {
    throw UsageError(fmt::format("kernel for unknown op '{}' (backend '{}')", op, backend));
  }
}
}  // namespace

void KernelRegistry::add_kernel(const std::string& op, const std::string& backend, KernelFn kernel) {
  check_op(op, backend);
  if (!ops_[op].kernels.emplace(backend, std::move(kernel)).second) {
    throw UsageError(fmt::format("op '{}' already has a kernel for backend '{}'", op, backend));
  }
}

void KernelRegistry::add_factory(const std::string& op, const std::string& backend, KernelFactory factory,
                                 std::set<int> layout_inputs) {
  check_op(op, backend);
  Kernels& k = ops_[op];
  if (!k.factories.emplace(backend, std::move(factory)).second) {
    throw UsageError(fmt::format("op '{}' already has a kernel factory for backend '{}'", op, backend));
  }
  if (!layout_inputs.empty()) k.layout_inputs[backend] = std::move(layout_inputs);
}

void KernelRegistry::allow_in_place(const std::string& op, const std::string& backend, int input) {
  if (factory(op, backend) == nullptr) {
    throw UsageError(fmt::format("op '{}' has no kernel factory for backend '{}' to run in place", op, backend));
  }
  ops_[op].in_place_input[backend] = input;
}

const KernelFn* KernelRegistry::kernel(const std::string& op, const std::string& backend) const {
  auto it = ops_.find(op);
  if (it == ops_.end()) return nullptr;
  auto k = it->second.kernels.find(backend);
  return k == it->second.kernels.end() ? nullptr : &k->second;
}

const KernelFactory* KernelRegistry::factory(const std::string& op, const std::string& backend) const {
  auto it = ops_.find(op);
  if (it == ops_.end()) return nullptr;
  auto f = it->second.factories.find(backend);
  return f == it->second.factories.end() ? nullptr : &f->second;
}

const std::set<int>& KernelRegistry::layout_inputs(const std::string& op, const std::string& backend) const {
  static const std::set<int> none;
  auto it = ops_.find(op);
  if (it == ops_.end()) return none;
  auto l = it->second.layout_inputs.find(backend);
  return l == it->second.layout_inputs.end() ? none : l->second;
}

int KernelRegistry::in_place_input(const std::string& op, const std::string& backend) const {
  auto it = ops_.find(op);
  if (it == ops_.end()) return -1;
  auto i = it->second.in_place_input.find(backend);
  return i == it->second.in_place_input.end() ? -1 : i->second;
}

std::vector<std::string> KernelRegistry::backends(const std::string& op) const {
  std::set<std::string> out;
  if (auto it = ops_.find(op); it != ops_.end()) {
    for (const auto& [b, k] : it->second.kernels) out.insert(b);
    for (const auto& [b, f] : it->second.factories) out.insert(b);
  }
  return {out.begin(), out.end()};
}

}  // namespace symgrad
