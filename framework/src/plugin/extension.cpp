#include "symgrad/plugin/extension.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/plugin/regularizer.hpp"

namespace symgrad {

// ---- ModelContext ------------------------------------------------------------------------------

Value ModelContext::variable(const std::string& name, const Shape& shape, ParamInfo info) {
  const TensorType type{dtype_, shape};
  Value v = graph_->find_leaf(NodeKind::variable, name);
  if (v.valid()) {
    if (v.type() != type) {
      throw ShapeError(fmt::format("variable '{}' is declared as {} and again as {}", name, v.type().to_string(),
                                   type.to_string()));
    }
    for (const auto& p : forward_.params) {
      if (p.value == v) return v;  // declared twice in this pass: shared (hard parameter sharing)
    }
  } else {
    v = graph_->variable(name, type);
  }
  info.value = v;
  forward_.params.push_back(info);
  return v;
}

Value ModelContext::parameter(const std::string& name, const Shape& shape, ParamInfo::Start start, std::int64_t fan_in,
                              std::int64_t fan_out) {
  const Value v = variable(name, shape, ParamInfo{Value{}, fan_in, fan_out, start, true});
  Value used = v;
  for (Extension* e : hooks_) used = e->on_parameter(*this, name, used);
  return used;
}

Value ModelContext::state(const std::string& name, const Shape& shape, ParamInfo::Start start) {
  if (start == ParamInfo::Start::initializer) {
    throw UsageError(fmt::format("state '{}' starts at zeros or ones, not from the initializer", name));
  }
  return variable(name, shape, ParamInfo{Value{}, 1, 1, start, false});
}

void ModelContext::set_state(const std::string& name, Value next) {
  if (!training()) throw UsageError(fmt::format("state '{}' is set while building the evaluation graph", name));
  Value v = graph_->find_leaf(NodeKind::variable, name);
  if (!v.valid()) throw UsageError(fmt::format("state '{}' is set before it is declared with state()", name));
  if (!next.valid() || next.graph != graph_ || next.type() != v.type()) {
    throw UsageError(fmt::format("the new value of state '{}' must be a {} of the training graph", name,
                                 v.type().to_string()));
  }
  if (!forward_.state_updates.emplace(name, next).second) throw UsageError(fmt::format("state '{}' is set twice", name));
}

Value ModelContext::random(const std::string& name, const TensorType& type, RandomInput::Kind kind, double p) {
  if (!training()) throw UsageError(fmt::format("random input '{}' requested while building the evaluation graph", name));
  if (graph_->find_leaf(NodeKind::input, name).valid()) throw UsageError(fmt::format("random input '{}' made twice", name));
  Value v = graph_->input(name, type);
  forward_.randoms.push_back({name, v, kind, p});
  return v;
}

void ModelContext::add_penalty(Value scalar) {
  if (!training()) return;  // evaluation reports the data loss
  if (!scalar.valid() || scalar.graph != graph_ || scalar.shape().rank() != 0) {
    throw UsageError("a penalty must be a scalar of the training graph");
  }
  forward_.penalties.push_back(scalar);
}

// ---- StepContext -------------------------------------------------------------------------------

StepContext::StepContext(Graph& graph, VariableStore& store, std::vector<NamedParam> params,
                         const std::vector<Value>& grads, Value objective, Value step)
    : graph_(&graph), store_(&store), params_(std::move(params)), objective_(objective), step_(step) {
  if (grads.size() != params_.size()) {
    throw UsageError(fmt::format("{} parameters but {} gradients", params_.size(), grads.size()));
  }
  for (std::size_t i = 0; i < grads.size(); ++i) grads_[params_[i].name] = grads[i];
}

namespace {
// A reported value's name becomes a CSV column and a plot's label: letters, digits, _ . - / only.
void check_report_name(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '/';
  });
  if (!ok) {
    throw UsageError(fmt::format("a reported value is named '{}'; a name is 1 to 64 letters, digits, '_', '.', '-' or '/'",
                                 name));
  }
}
}  // namespace

void StepContext::report(const std::string& name, Value value) {
  check_report_name(name);
  const std::string full = prefix_ + "/" + name;
  if (!value.valid() || value.graph != graph_ || value.shape().rank() != 0 || !is_floating(value.dtype())) {
    throw UsageError(fmt::format("'{}' reports {}, not a real scalar of the step's graph", full,
                                 value.valid() && value.graph == graph_ ? value.type().to_string() : "no value of its graph"));
  }
  for (const auto& r : reports_) {
    if (r.first == full) throw UsageError(fmt::format("'{}' is reported twice in one step", full));
  }
  reports_.emplace_back(full, value);
}

void TrainEvent::report(const std::string& name, double value) {
  check_report_name(name);
  reports.emplace_back(source.empty() ? name : source + "/" + name, value);
}

void StepContext::begin(const std::string& prefix, bool after_update) {
  prefix_ = prefix;
  after_update_ = after_update;
}

Value StepContext::learning_rate() const {
  if (!after_update_) throw UsageError("the learning rate is read before the update was built");
  Value lr = graph_->find_leaf(NodeKind::variable, "optimizer/lr");
  if (!lr.valid()) throw UsageError("this step has no learning rate variable 'optimizer/lr'");
  return lr;
}

const NamedParam& StepContext::param(const std::string& name) const {
  for (const auto& p : params_) {
    if (p.name == name) return p;
  }
  throw UsageError(fmt::format("'{}' is not a trainable parameter of this step", name));
}

Value StepContext::gradient(const std::string& name) const {
  param(name);
  return grads_.at(name);
}

namespace {
void check_like(const char* what, const std::string& name, Value v, const NamedParam& p) {
  if (!v.valid() || v.graph != p.value.graph || v.type() != p.value.type()) {
    throw UsageError(fmt::format("the {} of '{}' must be a {} of the training graph", what, name,
                                 p.value.type().to_string()));
  }
}
}  // namespace

void StepContext::set_gradient(const std::string& name, Value g) {
  if (after_update_) throw UsageError(fmt::format("the gradient of '{}' is set after the update was built", name));
  check_like("gradient", name, g, param(name));
  grads_[name] = g;
}

Value StepContext::updated(const std::string& name) const {
  param(name);
  if (!after_update_) throw UsageError(fmt::format("the new value of '{}' is read before the update was built", name));
  return updates_.at(name);
}

void StepContext::set_updated(const std::string& name, Value next) {
  if (!after_update_) throw UsageError(fmt::format("the new value of '{}' is set before the update was built", name));
  check_like("new value", name, next, param(name));
  updates_[name] = next;
}

std::string StepContext::state_name(const std::string& name) const {
  if (name.empty()) throw UsageError(fmt::format("'{}': a state variable needs a name", prefix_));
  return prefix_ + "/" + name;
}

Value StepContext::state(const std::string& name, const Tensor& first) {
  const std::string full = state_name(name);
  Value v = graph_->find_leaf(NodeKind::variable, full);
  if (v.valid()) {
    if (v.type() != first.type()) {
      throw UsageError(fmt::format("state '{}' is {} and again {}", full, v.type().to_string(), first.type().to_string()));
    }
    return v;
  }
  if (!store_->has(full)) {
    store_->set(full, first.clone());
  } else if (store_->get(full).type() != first.type()) {
    throw UsageError(fmt::format("state '{}' in the store is {}, declared as {} (a checkpoint of another run?)", full,
                                 store_->get(full).type().to_string(), first.type().to_string()));
  }
  state_names_.push_back(full);
  return graph_->variable(full, first.type());
}

Value StepContext::state_from(const std::string& name, const std::string& param_name) {
  const NamedParam& p = param(param_name);
  const std::string full = state_name(name);
  Value v = graph_->find_leaf(NodeKind::variable, full);
  if (v.valid()) {
    if (v.type() != p.value.type()) {
      throw UsageError(fmt::format("state '{}' is {} and again {}", full, v.type().to_string(), p.value.type().to_string()));
    }
    return v;
  }
  if (store_->has(full) && store_->get(full).type() != p.value.type()) {
    throw UsageError(fmt::format("state '{}' in the store is {}, declared as {} (a checkpoint of another run?)", full,
                                 store_->get(full).type().to_string(), p.value.type().to_string()));
  }
  if (!store_->has(full)) copies_[full] = param_name;
  state_names_.push_back(full);
  return graph_->variable(full, p.value.type());
}

void StepContext::set_state(const std::string& name, Value next) {
  const std::string full = state_name(name);
  Value v = graph_->find_leaf(NodeKind::variable, full);
  if (!v.valid()) throw UsageError(fmt::format("state '{}' is set before it is declared with state()", full));
  if (!next.valid() || next.graph != graph_ || next.type() != v.type()) {
    throw UsageError(fmt::format("the new value of state '{}' must be a {} of the training graph", full,
                                 v.type().to_string()));
  }
  if (!state_updates_.emplace(full, next).second) throw UsageError(fmt::format("state '{}' is set twice", full));
}

void StepContext::evaluate_with(const std::string& name, const std::string& state) {
  const NamedParam& p = param(name);
  const std::string full = state_name(state);
  Value v = graph_->find_leaf(NodeKind::variable, full);
  if (!v.valid() || v.type() != p.value.type()) {
    throw UsageError(fmt::format("'{}' is evaluated with state '{}', which must be declared as {} first", name, full,
                                 p.value.type().to_string()));
  }
  auto [it, fresh] = eval_vars_.emplace(name, full);
  if (!fresh && it->second != full) {
    throw UsageError(fmt::format("'{}' is evaluated with both '{}' and '{}'", name, it->second, full));
  }
}

// ---- default extension points -----------------------------------------------------------------

Value Extension::on_layer_output(ModelContext&, const LayerOutput& out) { return out.value; }
Value Extension::on_parameter(ModelContext&, const std::string&, Value variable) { return variable; }
Value PenaltyContext::input(const std::string& name, const std::string& who) const {
  if (const auto it = inputs.find(name); it != inputs.end()) return it->second;
  std::string names;
  for (const auto& [n, v] : inputs) names += (names.empty() ? "" : ", ") + n;
  throw UsageError(fmt::format("{} reads the model input '{}', which {}", who, name,
                               inputs.empty() ? "is not there: it penalizes a model's batch, and there is no model"
                                              : "the model does not have; its inputs: " + names));
}

Value Extension::penalty(const PenaltyContext&) { return {}; }
void Extension::transform_gradients(StepContext&) {}
void Extension::extend_step(StepContext&) {}
void Extension::order_epoch(EpochData&) {}
void Extension::transform_batch(BatchData&) {}

Value Regularizer::project(const NamedParam&, Value updated) { return updated; }

void Regularizer::extend_step(StepContext& ctx) {
  for (const auto& p : ctx.params()) ctx.set_updated(p.name, project(p, ctx.updated(p.name)));
}

}  // namespace symgrad
