#include "symgrad/train/training_step.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "symgrad/autodiff/gradients.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/ops/ops.hpp"
#include "symgrad/train/clipping.hpp"

namespace symgrad {

namespace {
constexpr const char* kStep = "optimizer/step";
constexpr const char* kShare = "shard/share";
}  // namespace

TrainingStep build_training_step(Graph& g, Value objective, const std::vector<NamedParam>& params, const StepSpec& spec,
                                 const std::vector<NamedExtension>& extensions, VariableStore& store,
                                 const std::map<std::string, Value>& model_state) {
  if (params.empty()) throw UsageError("the training step has no trainable parameters");
  const std::vector<std::string> before = store.names();
  try {
    std::vector<Value> values;
    for (const auto& p : params) values.push_back(p.value);
    std::vector<Value> grads;
    std::vector<Value> raw;
    if (spec.gradients_as_inputs) {
      raw = gradients(objective * g.input(kShare, TensorType{objective.dtype(), Shape{}}), values);
      for (const auto& p : params) grads.push_back(g.input("grad/" + p.name, p.value.type()));
    } else {
      grads = gradients(objective, values);
    }
    if (spec.clip_norm > 0) grads = clip_by_global_norm(grads, spec.clip_norm);
    if (spec.clip_value > 0) grads = clip_by_value(grads, spec.clip_value);
    // t, the number of this step (the optimizer counts steps in the same variable, f64 in any
    // precision: exact to 2^53 steps, where f32 stops counting at 2^24)
    const TensorType scalar{DType::f64, Shape{}};
    if (!store.has(kStep)) store.set(kStep, Tensor::scalar(DType::f64, 0.0));
    Value count = g.find_leaf(NodeKind::variable, kStep);
    if (!count.valid()) count = g.variable(kStep, scalar);
    const DType dtype = values[0].dtype();
    StepContext ctx(g, store, params, grads, objective, dtype == DType::f64 ? count + 1.0 : cast(count + 1.0, dtype));
    for (const auto& e : extensions) {
      ctx.begin(e.name, false);
      e.extension->transform_gradients(ctx);
    }
    TrainingStep out;
    out.raw_gradients = raw;
    for (const auto& p : params) out.gradients.push_back(ctx.gradients().at(p.name));
    out.optimizer = build_optimizer_step(spec.optimizer, spec.optimizer_settings, spec.groups, g, values, out.gradients,
                                         store);
    for (const auto& p : params) ctx.updates()[p.name] = out.optimizer.updates.at(p.name);
    for (const auto& e : extensions) {
      ctx.begin(e.name, true);
      e.extension->extend_step(ctx);
    }
    out.updates = out.optimizer.updates;
    for (const auto& [name, v] : ctx.updates()) out.updates[name] = v;
    for (const auto& [name, v] : ctx.state_updates()) out.updates[name] = v;
    for (const auto& [name, v] : model_state) {
      if (!out.updates.emplace(name, v).second) {
        throw UsageError(fmt::format("variable '{}' is updated both by the model and by the step", name));
      }
    }
    out.evaluation_variables = ctx.evaluation_variables();
    out.extension_state = ctx.state_names();
    out.state_copies = ctx.state_copies();
    out.reports = ctx.reports();
    fill_state_copies(out, store);
    return out;
  } catch (...) {
    for (const auto& n : store.names()) {
      if (!std::binary_search(before.begin(), before.end(), n)) store.erase(n);
    }
    throw;
  }
}

void fill_state_copies(const TrainingStep& step, VariableStore& store) {
  for (const auto& [state, param] : step.state_copies) {
    if (!store.has(state) && store.has(param)) store.set(state, store.get(param).clone());
  }
}

VariableStore evaluation_view(const VariableStore& store, const std::map<std::string, std::string>& evaluation_variables) {
  VariableStore view;
  for (const auto& n : store.names()) view.set(n, store.get(n));
  for (const auto& [param, var] : evaluation_variables) view.set(param, store.get(var));
  return view;
}

}  // namespace symgrad
