#pragma once
/// @file
/// Learning-rate schedules. The rate is a graph variable ("optimizer/lr"), so a schedule only
/// writes a number into the store before each step (apply_lr_schedule): the compiled step never
/// changes. `t` counts the steps taken before the one about to run (0 for the first), as a
/// torch.optim.lr_scheduler counts its step() calls; the trainer may advance it per epoch.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "symgrad/plugin/hyperparams.hpp"
#include "symgrad/plugin/optimizer.hpp"
#include "symgrad/runtime/variable_store.hpp"

namespace symgrad {

class LrSchedule {
 public:
  virtual ~LrSchedule() = default;
  /// The rate after t steps, for a parameter group that started at lr0.
  virtual double lr(double lr0, std::int64_t t) const = 0;
};

/// The schedules, each with its settings (every one also takes warmup_steps and
/// warmup_start_factor, a linear warm-up applied on top):
///   constant                              lr0
///   step         step_size, gamma         lr0 gamma^floor(t / step_size)             (StepLR)
///   multistep    milestones, gamma        lr0 gamma^(number of milestones <= t)      (MultiStepLR)
///   exponential  gamma                    lr0 gamma^t                                (ExponentialLR)
///   inverse_time decay_rate, decay_steps, lr0 / (1 + decay_rate t / decay_steps), with staircase
///                staircase                floor(t / decay_steps)                     (the course's decay)
///   cosine       t_max, eta_min           eta_min + (lr0 - eta_min)(1 + cos(pi min(t, t_max) / t_max)) / 2
///   warm-up: the rate times f + (1 - f) min(t, w) / w with f = warmup_start_factor, w = warmup_steps
///   (LinearLR's factor).
std::vector<std::string> lr_schedule_names();
/// One line on what `name` does, with its torch.optim.lr_scheduler peer ("" for an unknown name).
std::string lr_schedule_doc(const std::string& name);
/// The settings `name` takes (UsageError for an unknown name).
Schema lr_schedule_schema(const std::string& name);
/// A schedule from checked settings (milestones as "30,80").
std::unique_ptr<LrSchedule> make_lr_schedule(const std::string& name, const Settings& settings = {});

/// Sets every learning-rate variable of `step` to the schedule's rate after `steps_taken` steps,
/// from the rate it started with (run it before each step; no recompilation).
void apply_lr_schedule(VariableStore& store, const OptimizerStep& step, const LrSchedule& schedule,
                       std::int64_t steps_taken);

}  // namespace symgrad
