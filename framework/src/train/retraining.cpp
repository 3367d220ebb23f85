#include "symgrad/train/retraining.hpp"

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/plugin/registry.hpp"

namespace symgrad {

namespace {

// Stops training after `steps` steps (Algorithm 7.2), or once the validation loss is below
// `target` at the end of an epoch (Algorithm 7.3).
class StopWhen final : public Strategy {
 public:
  StopWhen(std::int64_t steps, double target) : steps_(steps), target_(target) {}
  void on_step_end(TrainEvent& e) override {
    if (steps_ > 0 && e.step >= steps_) e.stop = true;
  }
  void on_epoch_end(TrainEvent& e) override {
    if (steps_ == 0 && e.metrics.count("val_loss") && e.metrics.at("val_loss") < target_) e.stop = true;
  }

 private:
  std::int64_t steps_;
  double target_;
};

// The regularizer or strategy of `x` that chooses the stopping point: the one whose schema has a
// `retrain` setting (early_stopping's). It keeps "<its name>/best_step" in the store. nullptr: none.
const ComponentSpec* selecting_component(const Experiment& x) {
  auto& registry = PluginRegistry::global();
  for (const auto* list : {&x.regularizers, &x.strategies}) {
    const ComponentKind kind = list == &x.regularizers ? ComponentKind::regularizer : ComponentKind::strategy;
    for (const auto& c : *list) {
      if (registry.get(kind, c.name).schema.find("retrain") != nullptr) return &c;
    }
  }
  return nullptr;
}

}  // namespace

std::string retraining_of(const Experiment& x) {
  const ComponentSpec* c = selecting_component(x);
  if (c == nullptr) return "none";
  const auto it = c->settings.find("retrain");
  return it == c->settings.end() ? "none" : std::get<std::string>(it->second);
}

Retraining retrain_after_early_stopping(const Experiment& x, const ExperimentData& data, Trainer& first,
                                        const std::string& how, const std::string& output_dir) {
  if (how != "from_scratch" && how != "continue") {
    throw UsageError(fmt::format("retraining '{}': from_scratch (Algorithm 7.2) or continue (Algorithm 7.3)", how));
  }
  if (data.validation.size() == 0) throw UsageError("retraining after early stopping needs validation data");
  const ComponentSpec* selecting = selecting_component(x);
  const std::string name = selecting == nullptr ? "" : selecting->name, best_step = name + "/best_step";
  if (selecting == nullptr || !first.store().has(best_step)) {
    throw UsageError(fmt::format("retraining needs a finished run with a component that chooses the stopping point "
                                 "(a `retrain` setting, as early_stopping's) and its '<name>/best_step'{}",
                                 selecting == nullptr ? ": the experiment has none" : "; the store has no " + best_step));
  }
  const Dataset all = join(data.train, data.validation);
  TrainerOptions o = x.trainer_options();
  o.output_dir = output_dir;
  Retraining r;
  std::int64_t steps = 0;
  if (how == "from_scratch") {
    steps = static_cast<std::int64_t>(first.store().get(best_step).get(0));
    const std::int64_t per_epoch = (all.size() + o.batch_size - 1) / o.batch_size;
    o.epochs = (steps + per_epoch - 1) / per_epoch;  // enough epochs; stopped at the step
  } else {
    r.target = first.evaluate(data.train).loss;  // epsilon: the training loss at the best point
  }
  r.trainer = std::make_unique<Trainer>(x.model(data.train), o);
  if (how == "continue") {
    for (const auto& n : first.store().names()) {  // the best model and its optimizer state
      if (n.rfind(name + "/", 0) != 0) r.trainer->store().set(n, first.store().get(n).clone());
    }
  }
  Experiment others = x;  // every component but the one that chose the stopping point
  for (auto* list : {&others.regularizers, &others.strategies}) {
    std::erase_if(*list, [&](const ComponentSpec& c) { return c.name == name; });
  }
  const ExperimentComponents components = make_components(others);
  components.attach(*r.trainer);
  StopWhen stop(steps, r.target);
  r.trainer->add(stop);
  r.records = r.trainer->fit(all, how == "continue" ? &data.validation : nullptr);
  r.steps = static_cast<std::int64_t>(r.trainer->store().get("optimizer/step").get(0)) -
            (how == "continue" ? static_cast<std::int64_t>(first.store().get("optimizer/step").get(0)) : 0);
  return r;
}

}  // namespace symgrad
