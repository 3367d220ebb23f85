#pragma once
// One compiled training step minimizing loss(x) over one variable x, with an optimizer, strategies
// and regularizers made by name through the real loader, built by the step builder the trainer
// uses (penalties added to the loss as the trainer adds them). f64 on the reference backend.

#include <functional>
#include <memory>

#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"
#include "symgrad/train/training_step.hpp"

namespace symgrad::testing {

using Components = std::vector<std::pair<std::string, Settings>>;

struct StepRun {
  Graph g;
  VariableStore store;
  std::vector<std::unique_ptr<Extension>> made;
  std::vector<NamedExtension> extensions;
  TrainingStep built;
  std::unique_ptr<Plan> plan;
  Value loss;
  std::int64_t steps = 0;

  StepRun(const std::function<Value(Value)>& loss_of, const std::vector<double>& x0, const std::string& optimizer,
          const Settings& settings, const Components& strategies, const Components& regularizers = {},
          Shape shape = Shape{})
      : StepRun(loss_of, Tensor::from(DType::f64, shape.rank() ? shape : Shape{static_cast<std::int64_t>(x0.size())}, x0),
                optimizer, settings, strategies, regularizers) {}

  StepRun(const std::function<Value(Value)>& loss_of, const Tensor& x0, const std::string& optimizer,
          const Settings& settings, const Components& strategies, const Components& regularizers) {
    Value x = g.variable("x", x0.type());
    store.set("x", x0.clone());
    for (const auto& [name, s] : regularizers) {
      made.push_back(PluginRegistry::global().make_regularizer(name, s));
      extensions.push_back({name, made.back().get()});
    }
    for (const auto& [name, s] : strategies) {
      made.push_back(PluginRegistry::global().make_strategy(name, s));
      extensions.push_back({name, made.back().get()});
    }
    loss = loss_of(x);
    Value objective = loss;
    for (auto& e : extensions) {
      Value p = e.extension->penalty(PenaltyContext(g, {{"x", x}}));
      if (p.valid()) objective = objective + p;
    }
    built = build_training_step(g, objective, {{"x", x}}, StepSpec{optimizer, settings, {}, 0, 0}, extensions, store);
    CompileOptions o;
    o.updates = built.updates;
    plan = std::make_unique<Plan>(compile(g, {loss, objective}, o));
  }
  std::vector<double> step() {
    TrainEvent e;
    e.store = &store;
    e.step = steps;
    for (auto& x : extensions) x.extension->on_step_begin(e);
    plan->run({}, &store);
    ++steps;
    return store.get("x").to_vector();
  }
  std::vector<double> x() const { return store.get("x").to_vector(); }
  std::vector<double> evaluated() { return evaluation_view(store, built.evaluation_variables).get("x").to_vector(); }
};

}  // namespace symgrad::testing
