#include "symgrad/plugin/components.hpp"

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/plugin/registrar.hpp"
#include "symgrad/runtime/elementwise.hpp"

namespace symgrad {

const char* to_string(ComponentKind k) {
  switch (k) {
    case ComponentKind::op: return "op";
    case ComponentKind::initializer: return "initializer";
    case ComponentKind::optimizer: return "optimizer";
    case ComponentKind::regularizer: return "regularizer";
    case ComponentKind::strategy: return "strategy";
    case ComponentKind::loss: return "loss";
  }
  return "?";
}

std::optional<ComponentKind> parse_component_kind(const std::string& s) {
  for (auto k : {ComponentKind::op, ComponentKind::initializer, ComponentKind::optimizer,
                 ComponentKind::regularizer, ComponentKind::strategy, ComponentKind::loss}) {
    if (s == to_string(k)) return k;
  }
  return std::nullopt;
}

void PluginRegistrar::add_op(OpDef def) {
  if (const std::string e = formula_error(def); !e.empty()) throw UsageError(e);
  StagedComponent c;
  c.kind = ComponentKind::op;
  c.name = def.name;
  c.doc = def.doc;
  c.op = std::move(def);
  staged_.push_back(std::move(c));
}

StagedKernels& PluginRegistrar::kernels_of(const std::string& op, const std::string& backend) {
  for (auto& c : staged_) {
    if (c.kind == ComponentKind::op && c.name == op) return c.kernels;
  }
  throw UsageError(fmt::format("a '{}' kernel for op '{}', which this plugin has not added (add_op first)", backend, op));
}

void PluginRegistrar::add_kernel(const std::string& op, const std::string& backend, KernelFn kernel) {
  kernels_of(op, backend).kernels[backend] = std::move(kernel);
}

void PluginRegistrar::add_factory(const std::string& op, const std::string& backend, KernelFactory factory,
                                  std::set<int> layout_inputs) {
  StagedKernels& k = kernels_of(op, backend);
  k.factories[backend] = std::move(factory);
  if (!layout_inputs.empty()) k.layout_inputs[backend] = std::move(layout_inputs);
}

namespace {
template <class Factory>
StagedComponent make_staged(ComponentKind kind, std::string name, std::string doc, Schema schema,
                            Factory StagedComponent::*field, Factory make) {
  StagedComponent c;
  c.kind = kind;
  c.name = std::move(name);
  c.doc = std::move(doc);
  c.schema = std::move(schema);
  c.*field = std::move(make);
  return c;
}
}  // namespace

void PluginRegistrar::add_initializer(std::string name, std::string doc, Schema schema, InitializerFactory make) {
  staged_.push_back(make_staged(ComponentKind::initializer, std::move(name), std::move(doc), std::move(schema),
                                &StagedComponent::make_initializer, std::move(make)));
}
void PluginRegistrar::add_optimizer(std::string name, std::string doc, Schema schema, UpdateRuleFactory make) {
  staged_.push_back(make_staged(ComponentKind::optimizer, std::move(name), std::move(doc), std::move(schema),
                                &StagedComponent::make_update_rule, std::move(make)));
}
void PluginRegistrar::add_host_optimizer(std::string name, std::string doc, Schema schema, HostOptimizerFactory make) {
  staged_.push_back(make_staged(ComponentKind::optimizer, std::move(name), std::move(doc), std::move(schema),
                                &StagedComponent::make_host_optimizer, std::move(make)));
}
void PluginRegistrar::add_regularizer(std::string name, std::string doc, Schema schema, RegularizerFactory make) {
  staged_.push_back(make_staged(ComponentKind::regularizer, std::move(name), std::move(doc), std::move(schema),
                                &StagedComponent::make_regularizer, std::move(make)));
}
void PluginRegistrar::add_strategy(std::string name, std::string doc, Schema schema, StrategyFactory make) {
  staged_.push_back(make_staged(ComponentKind::strategy, std::move(name), std::move(doc), std::move(schema),
                                &StagedComponent::make_strategy, std::move(make)));
}
void PluginRegistrar::add_loss(std::string name, std::string doc, Schema schema, LossFactory make) {
  staged_.push_back(make_staged(ComponentKind::loss, std::move(name), std::move(doc), std::move(schema),
                                &StagedComponent::make_loss, std::move(make)));
}

}  // namespace symgrad
