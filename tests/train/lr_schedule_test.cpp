// Learning-rate schedules against their formulas, worked out by hand for lr0 = 1.

#include <gtest/gtest.h>

#include "symgrad/core/error.hpp"
#include "symgrad/train/lr_schedule.hpp"

namespace symgrad {
namespace {

std::vector<double> rates(const std::string& name, const Settings& s, int n, double lr0 = 1.0) {
  auto sched = make_lr_schedule(name, s);
  std::vector<double> out;
  for (int t = 0; t < n; ++t) out.push_back(sched->lr(lr0, t));
  return out;
}

void expect_rates(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-15) << "t = " << i;
}

TEST(LrSchedule, Constant) { expect_rates(rates("constant", {}, 3, 0.3), {0.3, 0.3, 0.3}); }

TEST(LrSchedule, StepAndMultiStep) {
  // gamma^floor(t / 2)
  expect_rates(rates("step", {{"step_size", std::int64_t{2}}, {"gamma", 0.5}}, 5), {1, 1, 0.5, 0.5, 0.25});
  // gamma^(milestones passed): 2 and 3
  expect_rates(rates("multistep", {{"milestones", std::string("2,3")}, {"gamma", 0.1}}, 5), {1, 1, 0.1, 0.01, 0.01});
}

TEST(LrSchedule, Exponential) { expect_rates(rates("exponential", {{"gamma", 0.5}}, 3), {1, 0.5, 0.25}); }

TEST(LrSchedule, InverseTimeContinuousAndStaircase) {
  // 1 / (1 + t / 2) and 1 / (1 + floor(t / 2))
  expect_rates(rates("inverse_time", {{"decay_steps", std::int64_t{2}}}, 4), {1, 1 / 1.5, 0.5, 1 / 2.5});
  expect_rates(rates("inverse_time", {{"decay_steps", std::int64_t{2}}, {"staircase", true}}, 4), {1, 1, 0.5, 0.5});
  // the course's form, decay_rate 1 per epoch: lr0 / (1 + t)
  expect_rates(rates("inverse_time", {}, 3, 0.2), {0.2, 0.1, 0.2 / 3});
}

TEST(LrSchedule, CosineAnnealsToEtaMinAndStays) {
  // 0.1 + 0.9 (1 + cos(pi t / 4)) / 2: t = 2 is halfway, 0.55
  const auto r = rates("cosine", {{"t_max", std::int64_t{4}}, {"eta_min", 0.1}}, 7);
  EXPECT_NEAR(r[0], 1.0, 1e-15);
  EXPECT_NEAR(r[2], 0.55, 1e-15);
  EXPECT_NEAR(r[4], 0.1, 1e-15);
  EXPECT_NEAR(r[6], 0.1, 1e-15);
}

TEST(LrSchedule, LinearWarmupOnTop) {
  // factor 0.2 + 0.8 min(t, 4) / 4
  expect_rates(rates("constant", {{"warmup_steps", std::int64_t{4}}, {"warmup_start_factor", 0.2}}, 6),
               {0.2, 0.4, 0.6, 0.8, 1, 1});
  // on a step schedule: both factors
  expect_rates(rates("step", {{"step_size", std::int64_t{1}}, {"gamma", 0.5}, {"warmup_steps", std::int64_t{2}},
                              {"warmup_start_factor", 0.5}},
                     3),
               {0.5, 0.5 * 0.75, 0.25});
}

TEST(LrSchedule, BadNamesAndSettingsAreRefused) {
  try {
    make_lr_schedule("cosin");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'cosine'?"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_lr_schedule("multistep", {{"milestones", std::string("80,30")}}), UsageError);
  EXPECT_THROW(make_lr_schedule("multistep", {{"milestones", std::string("a")}}), UsageError);
  EXPECT_THROW(make_lr_schedule("step", {{"gamma", -1.0}}), UsageError);
  EXPECT_THROW(make_lr_schedule("constant", {{"warmup_start_factor", 0.0}}), UsageError);
}

}  // namespace
}  // namespace symgrad
