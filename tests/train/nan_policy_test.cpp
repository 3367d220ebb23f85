// TrainerOptions::nan_policy: a step whose loss, gradients or new values hold a NaN or an infinity
// is named (the step, what went non-finite and, when the step can be undone, the first op that
// produced it); raise throws, stop undoes it and ends training with the state after the last good
// step, skip_step undoes it and goes on. A NaN that oneDNN's ReLU turns into 0 is found all the same.

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <regex>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/data/synthetic.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {
namespace {

using NanPolicy = TrainerOptions::NanPolicy;

TrainerOptions options(NanPolicy policy, std::int64_t epochs) {
  TrainerOptions o;
  o.epochs = epochs;
  o.batch_size = 25;
  o.seed = 11;
  o.optimizer = "adam";
  o.optimizer_settings = {{"lr", 0.01}};
  o.nan_policy = policy;
  return o;
}

Sequential mlp() {
  Sequential m;
  m.dense(8, "relu").dense(2);
  return m;
}

// 100 moons examples; example `bad` (when >= 0) has an infinite first feature.
Dataset moons_with_bad_example(std::int64_t bad) {
  Dataset d = make_moons(100, 0.2, 4);
  if (bad >= 0) d.features.data<float>()[bad * 2] = std::numeric_limits<float>::infinity();
  return d;
}

bool store_is_finite(Trainer& t) {
  for (const auto& n : t.store().names()) {
    const Tensor& v = t.store().get(n);
    for (std::int64_t i = 0; i < v.numel(); ++i) {
      if (!std::isfinite(v.get(i))) return false;
    }
  }
  return true;
}

std::string fit_error(Trainer& t, const Dataset& d) {
  try {
    t.fit(d);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// One bad example: one bad batch an epoch, each undone and skipped; the rest trains, every
// variable stays finite, and Adam's step count holds only the steps taken.
TEST(NanPolicy, SkipStepUndoesTheBadStepsAndGoesOn) {
  const Dataset data = moons_with_bad_example(17);
  Trainer t(mlp(), {DType::f32, Shape{2}}, 2, options(NanPolicy::skip_step, 5));
  const auto records = t.fit(data);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(t.skipped_steps(), 5);
  EXPECT_TRUE(store_is_finite(t));
  EXPECT_TRUE(std::isfinite(records.back().train_loss));
  EXPECT_EQ(t.store().get("optimizer/step").get(0), 5 * 4 - 5);  // 4 batches an epoch, 1 skipped
  ASSERT_FALSE(t.warnings().empty());
  EXPECT_NE(t.warnings()[0].find("skipped epoch 1, batch "), std::string::npos) << t.warnings()[0];
  // the first non-finite value is the infinite feature itself, a feed of the step
  EXPECT_NE(t.warnings()[0].find("input 'x' f32[25, 2], before the step"), std::string::npos) << t.warnings()[0];
}

// stop: training ends at the bad step, which is undone: the store is bit for bit that of a run
// stopped (by a callback) after the step before it.
class StopAfterStep final : public Strategy {
 public:
  explicit StopAfterStep(std::int64_t step) : step_(step) {}
  void on_step_end(TrainEvent& e) override { e.stop = e.step >= step_; }

 private:
  std::int64_t step_;
};

TEST(NanPolicy, StopKeepsTheStateAfterTheLastGoodStep) {
  const Dataset data = moons_with_bad_example(30);
  Trainer stopped(mlp(), {DType::f32, Shape{2}}, 2, options(NanPolicy::stop, 3));
  stopped.fit(data);
  ASSERT_TRUE(stopped.stopped_early());
  std::smatch m;
  const std::string why = stopped.stopped_by();
  ASSERT_TRUE(std::regex_search(why, m, std::regex("epoch 1, step (\\d+): "))) << why;
  const std::int64_t bad_step = std::stoll(m[1]);
  ASSERT_GT(bad_step, 1);
  EXPECT_NE(why.find("the step was undone"), std::string::npos) << why;

  Trainer reference(mlp(), {DType::f32, Shape{2}}, 2, options(NanPolicy::raise, 3));
  StopAfterStep stop(bad_step - 1);
  reference.add(stop);
  reference.fit(data);
  ASSERT_EQ(stopped.store().names(), reference.store().names());
  for (const auto& n : reference.store().names()) {
    const Tensor &a = stopped.store().get(n), &b = reference.store().get(n);
    ASSERT_EQ(a.nbytes(), b.nbytes()) << n;
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << n;
  }
}

// raise: the error names the step and the first non-finite value on the checked path.
TEST(NanPolicy, RaiseNamesTheStepAndTheValue) {
  const Dataset data = moons_with_bad_example(0);
  Trainer t(mlp(), {DType::f32, Shape{2}}, 2, options(NanPolicy::raise, 2));
  const std::string message = fit_error(t, data);
  EXPECT_NE(message.find("training diverged at epoch 1, step"), std::string::npos) << message;
  EXPECT_NE(message.find("nan_policy"), std::string::npos) << message;
}

// An infinity in an optimizer slot that hides from everything a step computes: Adam's second
// moment at +inf makes that weight's update m / (sqrt(inf) + eps) = 0, so the loss, the gradients
// and the parameters stay finite. Under raise, where a step checks only the parameters it writes,
// the check at the epoch's end finds it (before the epoch's row and checkpoint) and names it; under
// stop, every step checks every variable it writes, and the first step names it.
TEST(NanPolicy, AnInfinityInAnOptimizerSlotIsFoundByTheEpoch) {
  const Dataset data = moons_with_bad_example(-1);
  const std::string slot = "dense1/W/adam/exp_avg_sq";
  for (NanPolicy policy : {NanPolicy::raise, NanPolicy::stop}) {
    testing::TempDir dir;
    TrainerOptions o = options(policy, 2);
    o.output_dir = (dir.path / "run").string();
    Trainer t(mlp(), {DType::f32, Shape{2}}, 2, o);
    t.prepare();
    t.store().get(slot).set(5, std::numeric_limits<double>::infinity());
    if (policy == NanPolicy::raise) {
      const std::string message = fit_error(t, data);
      EXPECT_NE(message.find("training diverged in epoch 1: the value of '" + slot + "' f32[2, 8] holds inf at element 5"),
                std::string::npos)
          << message;
      EXPECT_FALSE(std::filesystem::exists(dir.path / "run" / "checkpoint.bin"));  // nothing saved from that epoch
      EXPECT_THROW(t.save_checkpoint((dir.path / "later.bin").string()), Error);
    } else {
      t.fit(data);
      EXPECT_NE(t.stopped_by().find(slot), std::string::npos) << t.stopped_by();
      EXPECT_NE(t.stopped_by().find("epoch 1, step 1"), std::string::npos) << t.stopped_by();
    }
  }
}

// A NaN in a first-layer weight: on the onednn backend ReLU turns the unit's NaN into 0, so the
// loss and the gradients of the layers after it stay finite. The step's check of the values it
// writes finds it anyway and names the parameter.
TEST(NanPolicy, ANaNBehindAReluIsNotHidden) {
  const Dataset data = moons_with_bad_example(-1);
  for (NanPolicy policy : {NanPolicy::raise, NanPolicy::stop}) {
    Trainer t(mlp(), {DType::f32, Shape{2}}, 2, options(policy, 1));
    t.prepare();
    t.store().get("dense1/W").set(3, std::numeric_limits<double>::quiet_NaN());
    EXPECT_TRUE(std::isfinite(t.evaluate(data).loss));  // hidden from the loss
    if (policy == NanPolicy::raise) {
      const std::string message = fit_error(t, data);
      EXPECT_NE(message.find("epoch 1, step 1: the step's new value of 'dense1/W'"), std::string::npos) << message;
    } else {
      t.fit(data);
      EXPECT_NE(t.stopped_by().find("variable 'dense1/W' f32[2, 8], before the step: element 3 is nan"),
                std::string::npos)
          << t.stopped_by();
    }
  }
}

}  // namespace
}  // namespace symgrad
