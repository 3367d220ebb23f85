#include "symgrad/train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/names.hpp"

namespace symgrad {

namespace {

struct Warmup {
  std::int64_t steps;
  double start;
  double factor(std::int64_t t) const {
    if (steps <= 0) return 1.0;
    return start + (1.0 - start) * static_cast<double>(std::min(t, steps)) / static_cast<double>(steps);
  }
};

template <class F>
class Schedule final : public LrSchedule {
 public:
  Schedule(F f, Warmup w) : f_(std::move(f)), w_(w) {}
  double lr(double lr0, std::int64_t t) const override { return f_(lr0, t) * w_.factor(t); }

 private:
  F f_;
  Warmup w_;
};

template <class F>
std::unique_ptr<LrSchedule> schedule(F f, Warmup w) {
  return std::make_unique<Schedule<F>>(std::move(f), w);
}

std::vector<std::int64_t> milestones(const std::string& text) {
  std::vector<std::int64_t> out;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    char* end = nullptr;
    const long long v = std::strtoll(part.c_str(), &end, 10);
    if (part.empty() || *end != '\0' || v < 0) {
      throw UsageError(fmt::format("schedule 'multistep': milestones '{}' must be non-negative integers, as \"30,80\"",
                                   text));
    }
    out.push_back(v);
  }
  if (!std::is_sorted(out.begin(), out.end())) {
    throw UsageError(fmt::format("schedule 'multistep': milestones '{}' must increase", text));
  }
  return out;
}

}  // namespace

std::vector<std::string> lr_schedule_names() {
  return {"constant", "step", "multistep", "exponential", "inverse_time", "cosine"};
}

std::string lr_schedule_doc(const std::string& name) {
  if (name == "constant") return "lr0 at every step (with an optional warm-up)";
  if (name == "step") return "lr0 gamma^floor(t / step_size) (torch StepLR)";
  if (name == "multistep") return "lr0 gamma^(milestones passed) (torch MultiStepLR)";
  if (name == "exponential") return "lr0 gamma^t (torch ExponentialLR)";
  if (name == "inverse_time") return "lr0 / (1 + decay_rate t / decay_steps) (the course's learning-rate decay)";
  if (name == "cosine") return "eta_min + (lr0 - eta_min)(1 + cos(pi t / t_max)) / 2 (torch CosineAnnealingLR)";
  return "";
}

Schema lr_schedule_schema(const std::string& name) {
  Schema s;
  if (name == "step") {
    s.add(int_param("step_size", 30, "steps between decays").at_least(1));
    s.add(real_param("gamma", 0.1, "factor of each decay").greater_than(0));
  } else if (name == "multistep") {
    s.add(string_param("milestones", "30,80", "steps at which the rate decays, as \"30,80\""));
    s.add(real_param("gamma", 0.1, "factor of each decay").greater_than(0));
  } else if (name == "exponential") {
    s.add(real_param("gamma", 0.99, "factor per step").greater_than(0));
  } else if (name == "inverse_time") {
    s.add(real_param("decay_rate", 1.0, "k in lr0 / (1 + k t / decay_steps)").at_least(0));
    s.add(int_param("decay_steps", 1, "steps per unit of decay").at_least(1));
    s.add(bool_param("staircase", false, "decay in whole units: floor(t / decay_steps)"));
  } else if (name == "cosine") {
    s.add(int_param("t_max", 100, "steps of the half cosine").at_least(1));
    s.add(real_param("eta_min", 0.0, "the rate at t_max and after").at_least(0));
  } else if (name != "constant") {
    const auto names = lr_schedule_names();
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw UsageError(fmt::format("unknown learning-rate schedule '{}'{}; schedules: {}", name, did_you_mean(name, names),
                                 list));
  }
  s.add(int_param("warmup_steps", 0, "steps of linear warm-up (0: none)").at_least(0));
  s.add(real_param("warmup_start_factor", 1.0 / 3.0, "rate factor at the first step of the warm-up").greater_than(0).at_most(1));
  return s;
}

std::unique_ptr<LrSchedule> make_lr_schedule(const std::string& name, const Settings& settings) {
  const Hyperparams h(lr_schedule_schema(name), settings, fmt::format("schedule '{}'", name));
  const Warmup w{h.integer("warmup_steps"), h.real("warmup_start_factor")};
  if (name == "step") {
    const std::int64_t size = h.integer("step_size");
    const double gamma = h.real("gamma");
    return schedule([=](double lr0, std::int64_t t) { return lr0 * std::pow(gamma, static_cast<double>(t / size)); }, w);
  }
  if (name == "multistep") {
    const auto ms = milestones(h.string("milestones"));
    const double gamma = h.real("gamma");
    return schedule(
        [=](double lr0, std::int64_t t) {
          const auto passed = std::upper_bound(ms.begin(), ms.end(), t) - ms.begin();
          return lr0 * std::pow(gamma, static_cast<double>(passed));
        },
        w);
  }
  if (name == "exponential") {
    const double gamma = h.real("gamma");
    return schedule([=](double lr0, std::int64_t t) { return lr0 * std::pow(gamma, static_cast<double>(t)); }, w);
  }
  if (name == "inverse_time") {
    const double k = h.real("decay_rate");
    const std::int64_t steps = h.integer("decay_steps");
    const bool stairs = h.boolean("staircase");
    return schedule(
        [=](double lr0, std::int64_t t) {
          const double units = stairs ? static_cast<double>(t / steps) : static_cast<double>(t) / static_cast<double>(steps);
          return lr0 / (1.0 + k * units);
        },
        w);
  }
  if (name == "cosine") {
    const std::int64_t t_max = h.integer("t_max");
    const double eta_min = h.real("eta_min");
    return schedule(
        [=](double lr0, std::int64_t t) {
          const double c = std::cos(std::numbers::pi * static_cast<double>(std::min(t, t_max)) / static_cast<double>(t_max));
          return eta_min + (lr0 - eta_min) * (1.0 + c) / 2.0;
        },
        w);
  }
  return schedule([](double lr0, std::int64_t) { return lr0; }, w);
}

void apply_lr_schedule(VariableStore& store, const OptimizerStep& step, const LrSchedule& schedule,
                       std::int64_t steps_taken) {
  for (const auto& [name, lr0] : step.learning_rates) store.get(name).set(0, schedule.lr(lr0, steps_taken));
}

}  // namespace symgrad
