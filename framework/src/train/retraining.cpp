#include "symgrad/train/retraining.hpp"

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

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

}  // namespace

std::string retraining_of(const Experiment& x) {
  for (const auto& r : x.regularizers) {
    if (r.name != "early_stopping") continue;
    auto it = r.settings.find("retrain");
    if (it != r.settings.end()) return std::get<std::string>(it->second);
  }
  return "none";
}

Retraining retrain_after_early_stopping(const Experiment& x, const ExperimentData& data, Trainer& first,
                                        const std::string& how, const std::string& output_dir) {
  if (how != "from_scratch" && how != "continue") {
    throw UsageError(fmt::format("retraining '{}': from_scratch (Algorithm 7.2) or continue (Algorithm 7.3)", how));
  }
  if (data.validation.size() == 0) throw UsageError("retraining after early stopping needs validation data");
  if (!first.store().has("early_stopping/best_step")) {
    throw UsageError("retraining needs a finished run with early stopping (no 'early_stopping/best_step')");
  }
  const Dataset all = join(data.train, data.validation);
  TrainerOptions o = x.trainer_options();
  o.output_dir = output_dir;
  Retraining r;
  std::int64_t steps = 0;
  if (how == "from_scratch") {
    steps = static_cast<std::int64_t>(first.store().get("early_stopping/best_step").get(0));
    const std::int64_t per_epoch = (all.size() + o.batch_size - 1) / o.batch_size;
    o.epochs = (steps + per_epoch - 1) / per_epoch;  // enough epochs; stopped at the step
  } else {
    r.target = first.evaluate(data.train).loss;  // epsilon: the training loss at the best point
  }
  r.trainer = std::make_unique<Trainer>(x.model(data.train), o);
  if (how == "continue") {
    for (const auto& n : first.store().names()) {  // the best model and its optimizer state
      if (n.rfind("early_stopping/", 0) != 0) r.trainer->store().set(n, first.store().get(n).clone());
    }
  }
  Experiment others = x;  // every component but early stopping itself
  std::erase_if(others.regularizers, [](const ComponentSpec& c) { return c.name == "early_stopping"; });
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
