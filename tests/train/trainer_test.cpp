// The Trainer on the synthetic 2-D sets: it learns, it is bitwise deterministic, dropout is on in
// training and off in evaluation, metrics files are written, and early stopping (a regularizer
// plugin through the loader) stops and restores the best epoch's weights.

#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/core/random.hpp"
#include "symgrad/data/synthetic.hpp"
#include "symgrad/io/variables_file.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {
namespace {

TrainerOptions adam_options(std::int64_t epochs) {
  TrainerOptions o;
  o.epochs = epochs;
  o.batch_size = 32;
  o.seed = 7;
  o.optimizer = "adam";
  o.optimizer_settings = {{"lr", 0.01}};
  return o;
}

Sequential mlp(double dropout = 0) {
  Sequential m;
  m.dense(16, "relu");
  if (dropout > 0) m.dropout(dropout);
  m.dense(16, "relu").dense(2);
  return m;
}

TEST(Trainer, LearnsTheMoons) {
  const Dataset data = make_moons(600, 0.15, 1);
  auto [train, val] = split_validation(data, 0.25, 2);
  Trainer t(mlp(), {DType::f32, Shape{2}}, 2, adam_options(40));
  const auto records = t.fit(train, &val);
  ASSERT_EQ(records.size(), 40u);
  EXPECT_LT(records.back().train_loss, records.front().train_loss / 3);
  EXPECT_GE(records.back().val_accuracy, 0.95);
  EXPECT_EQ(t.evaluate(val).accuracy, records.back().val_accuracy);
}

TEST(Trainer, SameSeedSameWeightsBitwise) {
  const Dataset data = make_circles(200, 0.1, 0.5, 3);
  auto weights = [&] {
    Trainer t(mlp(0.2), {DType::f32, Shape{2}}, 2, adam_options(3));
    t.fit(data);
    std::vector<std::vector<float>> w;
    for (const auto& n : t.store().names()) {
      const Tensor& v = t.store().get(n);
      if (v.dtype() == DType::f32) w.emplace_back(v.data<float>(), v.data<float>() + v.numel());
    }
    return w;
  };
  const auto a = weights(), b = weights();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(std::memcmp(a[i].data(), b[i].data(), a[i].size() * 4), 0) << i;
}

// Every unit of a layer identical at the start (a constant initializer) is said, with the parameter.
TEST(Trainer, WarnsWhenUnitsStartIdentical) {
  TrainerOptions o = adam_options(1);
  o.initializer = "zeros";
  Trainer zeros(mlp(), {DType::f32, Shape{2}}, 2, o);
  zeros.prepare();
  ASSERT_EQ(zeros.warnings().size(), 3u);  // dense1/W, dense2/W, dense3/W
  EXPECT_NE(zeros.warnings()[0].find("every unit of 'dense1/W' starts identical (initializer 'zeros')"), std::string::npos)
      << zeros.warnings()[0];
  Trainer he(mlp(), {DType::f32, Shape{2}}, 2, adam_options(1));
  he.prepare();
  EXPECT_TRUE(he.warnings().empty());
}

TEST(Trainer, DropoutTrainsButDoesNotEvaluate) {
  const Dataset data = make_moons(200, 0.1, 4);
  Trainer t(mlp(0.5), {DType::f32, Shape{2}}, 2, adam_options(1));
  t.fit(data);
  // the same run without dropout ends elsewhere: the masks were applied in training
  Trainer plain(mlp(), {DType::f32, Shape{2}}, 2, adam_options(1));
  plain.fit(data);
  EXPECT_NE(std::memcmp(t.store().get("dense2/W").raw(), plain.store().get("dense2/W").raw(),
                        plain.store().get("dense2/W").nbytes()),
            0);
  // inference has no randomness: two evaluations agree to the bit
  const Evaluation a = t.evaluate(data), b = t.evaluate(data);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(a.accuracy, b.accuracy);
}

TEST(Trainer, WritesMetricsAsCsvAndJsonLines) {
  testing::TempDir dir;
  TrainerOptions o = adam_options(2);
  o.output_dir = (dir.path / "run").string();
  const Dataset data = make_xor(64, 0.05, 5);
  Trainer t(mlp(), {DType::f32, Shape{2}}, 2, o);
  t.fit(data, &data);
  std::ifstream epochs(dir.path / "run" / "metrics-epochs.csv");
  std::string header, line;
  std::getline(epochs, header);
  EXPECT_EQ(header.rfind("epoch,train_loss,train_objective,train_accuracy,val_loss,val_accuracy,lr,seconds,step_seconds,step,elapsed,"
                         "grad_norm/dense1/W,update_ratio/dense1/W",
                         0),
            0u)
      << header;
  int rows = 0;
  while (std::getline(epochs, line)) ++rows;
  EXPECT_EQ(rows, 2);
  std::ifstream steps(dir.path / "run" / "metrics-steps.jsonl");
  std::getline(steps, line);
  EXPECT_EQ(line.rfind("{\"epoch\": 1, \"step\": 1, \"loss\": ", 0), 0u) << line;
  rows = 1;
  while (std::getline(steps, line)) ++rows;
  EXPECT_EQ(rows, 4);  // 64 examples in batches of 32, two epochs
}

// A run killed after writing an epoch's metrics but before its checkpoint, resumed: the metrics
// end at the checkpoint's epoch and step before the resumed run adds to them (no epoch twice), and
// the temporary a killed checkpoint write left (its process gone) is removed.
TEST(Trainer, AResumedRunRepeatsNoMetricsAndCleansStaleTemporaries) {
  testing::TempDir dir;
  TrainerOptions o = adam_options(2);
  o.output_dir = (dir.path / "run").string();
  const Dataset data = make_xor(64, 0.05, 5);
  {
    Trainer t(mlp(), {DType::f32, Shape{2}}, 2, o);
    t.fit(data);  // epochs 1-2, the checkpoint after epoch 2 (step 4)
  }
  const auto run = dir.path / "run";
  std::ofstream(run / "metrics-epochs.csv", std::ios::app) << "3,0.5,0.5,0.5\n";  // epoch 3, never checkpointed
  std::ofstream(run / "metrics-epochs.jsonl", std::ios::app) << "{\"epoch\": 3, \"train_loss\": 0.5}\n";
  std::ofstream(run / "metrics-steps.csv", std::ios::app) << "3,5,0.5,0.5,0.5,0.001\n";
  std::ofstream(run / "metrics-steps.jsonl", std::ios::app) << "{\"epoch\": 3, \"step\": 5, \"loss\": 0.5}\n";
  const pid_t gone = ::fork();  // a process id that has just ended
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  const auto stale = run / fmt::format("checkpoint.bin.tmp-{}", gone), live = run / fmt::format("checkpoint.bin.tmp-{}", ::getppid());
  std::ofstream(stale) << "half a checkpoint";
  std::ofstream(live) << "another process's write in progress";
  o.epochs = 4;
  Trainer t(mlp(), {DType::f32, Shape{2}}, 2, o);
  t.load_checkpoint((run / "checkpoint.bin").string());
  t.fit(data);
  std::ifstream epochs(run / "metrics-epochs.csv");
  std::string line, column;
  std::getline(epochs, line);
  std::vector<int> seen;
  std::vector<std::vector<double>> rows_of;  // epoch, train_loss, ..., lr, seconds, step, elapsed, ...
  while (std::getline(epochs, line)) {
    seen.push_back(std::stoi(line.substr(0, line.find(','))));
    std::stringstream cells(line);
    rows_of.emplace_back();
    for (std::string cell; std::getline(cells, cell, ',');) rows_of.back().push_back(std::stod(cell));
  }
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3, 4}));
  // the step count and the seconds since training began carry on over the resumption; the steps'
  // plans take part of each epoch's seconds (columns 5-9: lr, seconds, step_seconds, step, elapsed)
  ASSERT_EQ(rows_of.size(), 4u);
  double elapsed = 0;
  for (std::size_t e = 0; e < 4; ++e) {
    elapsed += rows_of[e].at(5);
    EXPECT_GT(rows_of[e].at(6), 0.0) << "epoch " << e + 1;
    EXPECT_LT(rows_of[e].at(6), rows_of[e].at(5)) << "epoch " << e + 1;
    EXPECT_EQ(rows_of[e].at(7), 2.0 * static_cast<double>(e + 1)) << "epoch " << e + 1;
    EXPECT_NEAR(rows_of[e].at(8), elapsed, 1e-9) << "epoch " << e + 1;
  }
  std::ifstream steps(run / "metrics-steps.jsonl");
  int rows = 0;
  while (std::getline(steps, line)) ++rows;
  EXPECT_EQ(rows, 8);  // two steps an epoch, four epochs, none twice
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_TRUE(std::filesystem::exists(live));  // a running process's temporary is left alone
}

// The plugin watches val_loss: best at epoch 2 (0.5), worse at 3 and 4: with patience 2 it stops
// at epoch 4 and puts back epoch 2's weights.
TEST(EarlyStopping, StopsAndRestoresTheBestEpoch) {
  auto es = PluginRegistry::global().make_regularizer("early_stopping", {{"patience", std::int64_t{2}}});
  VariableStore store;
  store.set("dense1/W", Tensor::scalar(DType::f32, 1));
  TrainEvent e;
  e.store = &store;
  const std::vector<double> val_loss = {1.0, 0.5, 0.7, 0.8};
  for (std::size_t k = 0; k < val_loss.size() && !e.stop; ++k) {
    e.epoch = static_cast<std::int64_t>(k + 1);
    store.get("dense1/W").set(0, static_cast<double>(k + 1));  // the weights of epoch k + 1
    e.metrics = {{"val_loss", val_loss[k]}};
    es->on_epoch_end(e);
    EXPECT_EQ(e.stop, k == 3) << "epoch " << k + 1;
  }
  es->on_train_end(e);  // as the trainer calls it when training ends
  EXPECT_EQ(store.get("dense1/W").get(0), 2.0);
  EXPECT_EQ(e.metrics.at("early_stopping/best_epoch"), 2.0);
  EXPECT_EQ(store.get("early_stopping/best_epoch").get(0), 2.0);  // recorded with the variables
}

// A run that reaches its last epoch before patience runs out also ends with the best epoch's
// weights (not the last epoch's), and records where the best was.
TEST(EarlyStopping, RestoresTheBestWhenTheLastEpochIsReached) {
  const Dataset data = make_moons(300, 0.3, 6);
  auto [train, val] = split_validation(data, 0.3, 1);
  TrainerOptions o = adam_options(30);
  o.optimizer_settings = {{"lr", 0.05}};
  Trainer t(mlp(), {DType::f32, Shape{2}}, 2, o);
  auto es = PluginRegistry::global().make_regularizer("early_stopping", {{"patience", std::int64_t{1000}}});
  t.add(*es);
  const auto records = t.fit(train, &val);
  ASSERT_EQ(records.size(), 30u);  // never stopped
  std::size_t best = 0;
  for (std::size_t k = 1; k < records.size(); ++k) {
    if (records[k].val_loss < records[best].val_loss) best = k;
  }
  ASSERT_LT(best, 29u) << "the last epoch is the best: nothing to restore in this setting";
  EXPECT_NEAR(t.evaluate(val).loss, records[best].val_loss, 1e-6);
  EXPECT_EQ(t.restored_epoch(), static_cast<std::int64_t>(best + 1));  // what the run's summary names
  EXPECT_EQ(t.store().get("early_stopping/best_epoch").get(0), static_cast<double>(best + 1));
  EXPECT_EQ(t.store().get("early_stopping/best_step").get(0), static_cast<double>((best + 1) * ((210 + 31) / 32)));
}

TEST(EarlyStopping, EndsATrainingRun) {
  const Dataset data = make_moons(300, 0.3, 6);
  auto [train, val] = split_validation(data, 0.3, 1);
  TrainerOptions o = adam_options(200);
  o.optimizer_settings = {{"lr", 0.05}};
  Trainer t(mlp(), {DType::f32, Shape{2}}, 2, o);
  auto es = PluginRegistry::global().make_regularizer("early_stopping", {{"patience", std::int64_t{3}}});
  t.add(*es);
  const auto records = t.fit(train, &val);
  ASSERT_LT(records.size(), 200u);  // stopped early
  double best = 1e9;
  for (const auto& r : records) best = std::min(best, r.val_loss);
  EXPECT_NEAR(t.evaluate(val).loss, best, 1e-6);  // the best epoch's weights are back
}

}  // namespace
}  // namespace symgrad

namespace symgrad {
namespace {

// Stops training after `at` steps (a stand-in for Ctrl-C).
class StopAt final : public Strategy {
 public:
  explicit StopAt(std::int64_t at) : at_(at) {}
  void on_step_end(TrainEvent& e) override { e.stop = e.step == at_; }

 private:
  std::int64_t at_;
};

std::map<std::string, std::vector<double>> weights_of(Trainer& t) {
  std::map<std::string, std::vector<double>> w;
  for (const auto& n : t.store().names()) w[n] = t.store().get(n).to_vector();
  return w;
}

// Four epochs in one go; two, a checkpoint, a new trainer and two more; and a stop in the middle
// of the second epoch (batch 9 of 13), a checkpoint, and the rest: bitwise the same variables.
TEST(Checkpoint, ResumingIsBitwiseTheRunThatNeverStopped) {
  const Dataset data = make_moons(400, 0.2, 8);
  auto options = [](const std::string& dir, std::int64_t epochs) {
    TrainerOptions o = adam_options(epochs);
    o.output_dir = dir;
    o.schedule = "step";
    o.schedule_settings = {{"step_size", std::int64_t{1}}, {"gamma", 0.8}};
    return o;
  };
  testing::TempDir dir;
  Trainer straight(mlp(0.3), {DType::f32, Shape{2}}, 2, options((dir.path / "a").string(), 4));
  straight.fit(data);

  Trainer first(mlp(0.3), {DType::f32, Shape{2}}, 2, options((dir.path / "b").string(), 2));
  first.fit(data);
  Trainer second(mlp(0.3), {DType::f32, Shape{2}}, 2, options((dir.path / "b").string(), 4));
  second.load_checkpoint((dir.path / "b" / "checkpoint.bin").string());
  EXPECT_EQ(second.epochs_done(), 2);
  EXPECT_EQ(second.fit(data).size(), 2u);
  EXPECT_EQ(weights_of(second), weights_of(straight));

  Trainer interrupted(mlp(0.3), {DType::f32, Shape{2}}, 2, options((dir.path / "c").string(), 4));
  StopAt stop(13 + 9);  // 400 examples: 13 batches an epoch
  interrupted.add(stop);
  interrupted.fit(data);
  EXPECT_TRUE(interrupted.stopped_early());
  EXPECT_EQ(interrupted.epochs_done(), 1);
  Trainer rest(mlp(0.3), {DType::f32, Shape{2}}, 2, options((dir.path / "c").string(), 4));
  rest.load_checkpoint((dir.path / "c" / "checkpoint.bin").string());
  rest.fit(data);
  EXPECT_EQ(weights_of(rest), weights_of(straight));
  EXPECT_THROW(rest.load_checkpoint((dir.path / "nothing.bin").string()), Error);
}

}  // namespace
}  // namespace symgrad

namespace symgrad {
namespace {

// The l2 plugin's penalty is lambda / 2 sum W^2 over the weights only: its value in the objective
// and the smaller weights it leaves.
TEST(L2Regularizer, PenaltyOnWeightsShrinksThem) {
  auto l2 = PluginRegistry::global().make_regularizer("l2", {{"lambda", 0.5}});
  Graph g;
  auto w = g.variable("dense1/W", {DType::f64, Shape{2}});
  auto b = g.variable("dense1/b", {DType::f64, Shape{1}});
  VariableStore store;
  store.set("dense1/W", Tensor::from(DType::f64, Shape{2}, {1, 2}));
  store.set("dense1/b", Tensor::from(DType::f64, Shape{1}, {10}));
  Value pen = l2->penalty(PenaltyContext(g, {{"dense1/W", w}, {"dense1/b", b}}));
  EXPECT_EQ(compile(g, {pen}).run({}, &store)[0].get(0), 0.25 * 5);  // 0.5 / 2 (1 + 4); the bias is not in it

  const Dataset data = make_moons(300, 0.3, 9);
  auto norm = [&](bool regularized) {
    Trainer t(mlp(), {DType::f32, Shape{2}}, 2, adam_options(20));
    auto r = PluginRegistry::global().make_regularizer("l2", {{"lambda", 0.01}});
    if (regularized) t.add(*r);
    const auto records = t.fit(data);
    if (regularized) {
      EXPECT_GT(records.back().train_objective, records.back().train_loss);
    }
    double s = 0;
    for (const char* n : {"dense1/W", "dense2/W", "dense3/W"}) {
      for (double v : t.store().get(n).to_vector()) s += v * v;
    }
    return s;
  };
  EXPECT_LT(norm(true), 0.7 * norm(false));
}

}  // namespace
}  // namespace symgrad

namespace symgrad {
namespace {

// Convolution, pooling and batch normalization layers: the running statistics move during
// training (unbiased variance, momentum 0.1) and drive evaluation, which is deterministic; and
// the bright-or-dark images are learned.
TEST(Trainer, ConvolutionsPoolingAndBatchNorm) {
  Dataset d{"bright", Tensor(DType::f32, Shape{128, 1, 8, 8}), Tensor(DType::i32, Shape{128}), 2, {}};
  Random rng(11);
  for (std::int64_t i = 0; i < 128; ++i) {
    const double level = i % 2 == 0 ? 0.3 : 0.7;  // class 1: brighter
    for (std::int64_t k = 0; k < 64; ++k) d.features.set(i * 64 + k, level + 0.2 * rng.normal());
    d.labels.set(i, static_cast<double>(i % 2));
  }
  Sequential m;
  m.conv2d(4, 3, 1, 1).batch_norm().activation("relu").max_pool(2).flatten().dense(2);
  EXPECT_EQ(m.to_string(), "conv2d(4, 3x3, padding 1) -> batch_norm -> relu -> max_pool(2) -> flatten -> dense(2)");
  TrainerOptions o = adam_options(15);
  o.optimizer_settings = {{"lr", 0.05}};
  Trainer t(m, {DType::f32, Shape{1, 8, 8}}, 2, o);
  t.fit(d);
  const auto mean = t.store().get("bn1/running_mean").to_vector(), var = t.store().get("bn1/running_var").to_vector();
  ASSERT_EQ(mean.size(), 4u);
  for (std::size_t c = 0; c < 4; ++c) {
    EXPECT_NE(mean[c], 0.0) << c;
    EXPECT_NE(var[c], 1.0) << c;
  }
  const Evaluation a = t.evaluate(d), b = t.evaluate(d);
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_GE(a.accuracy, 0.9);
}

}  // namespace
}  // namespace symgrad

namespace symgrad {
namespace {

// Sets the learning rate to `lr` at the start of epoch `at`.
class RateAt final : public Strategy {
 public:
  RateAt(std::int64_t at, double lr) : at_(at), lr_(lr) {}
  void on_epoch_begin(TrainEvent& e) override {
    if (e.epoch == at_) e.store->get("optimizer/lr").set(0, lr_);
  }

 private:
  std::int64_t at_;
  double lr_;
};

// A step that diverges (its loss is not finite) has already updated the variables in place: the
// error says which step and that the store holds part of it, no checkpoint is written from it, and
// the last one (after epoch 1) is byte for byte what it was.
TEST(Checkpoint, AFailedStepLeavesTheLastCheckpointIntact) {
  const Dataset data = make_moons(200, 0.2, 9);
  testing::TempDir dir;
  auto options = [&](const std::string& sub, std::int64_t epochs) {
    TrainerOptions o = adam_options(epochs);
    o.optimizer = "sgd";
    o.optimizer_settings = {{"lr", 0.1}};
    o.output_dir = (dir.path / sub).string();
    o.checkpoint_seconds = 0;
    return o;
  };
  Trainer one(mlp(), {DType::f32, Shape{2}}, 2, options("one", 1));
  one.fit(data);
  Trainer failing(mlp(), {DType::f32, Shape{2}}, 2, options("failing", 3));
  RateAt blow_up(2, 1e30);
  failing.add(blow_up);
  std::string message;
  try {
    failing.fit(data);
  } catch (const Error& e) {
    message = e.what();
  }
  // 7 steps an epoch: step 8 takes the huge rate (its loss, computed before its update, is finite),
  // step 9 sees the result
  EXPECT_NE(message.find("training diverged at epoch 2, step 9"), std::string::npos) << message;
  EXPECT_NE(message.find("the store is not the state after any step"), std::string::npos) << message;
  EXPECT_NE(message.find("is untouched"), std::string::npos) << message;
  auto bytes = [](const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(bytes(dir.path / "failing" / "checkpoint.bin"), bytes(dir.path / "one" / "checkpoint.bin"));
  EXPECT_THROW(failing.save_checkpoint((dir.path / "failing" / "x.bin").string()), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.path / "failing" / "x.bin"));
}

// The optimizer's step counter is exact past 2^24 in an f32 run (an f32 counter stops there:
// 2^24 + 1 rounds to 2^24, so Adam's bias correction and schedules would see time stand still),
// and a checkpoint that kept it in f32 (written before it was f64) loads with the same count.
TEST(Checkpoint, TheStepCounterCountsPast2To24InAnF32Run) {
  const Dataset data = make_moons(64, 0.2, 9);  // two steps of 32
  testing::TempDir dir;
  Trainer t(mlp(), {DType::f32, Shape{2}}, 2, adam_options(1));
  t.prepare();
  ASSERT_EQ(t.store().get("optimizer/step").dtype(), DType::f64);
  const double start = 16777217.0;  // 2^24 + 1, no f32
  t.store().get("optimizer/step").set(0, start);
  t.fit(data);
  EXPECT_EQ(t.store().get("optimizer/step").get(0), start + 2);
  for (const auto& name : t.store().names()) {
    const Tensor& v = t.store().get(name);
    for (std::int64_t i = 0; i < v.numel(); ++i) ASSERT_TRUE(std::isfinite(v.get(i))) << name;
  }
  const std::string path = (dir.path / "old.bin").string();
  t.save_checkpoint(path);
  VariableStore old = load_variables(path);
  old.set("optimizer/step", Tensor::scalar(DType::f32, 1000));
  save_variables(old, path);
  Trainer resumed(mlp(), {DType::f32, Shape{2}}, 2, adam_options(2));
  resumed.load_checkpoint(path);
  EXPECT_EQ(resumed.store().get("optimizer/step").dtype(), DType::f64);
  EXPECT_EQ(resumed.store().get("optimizer/step").get(0), 1000.0);
}

// A checkpoint of another model: refused, listing what is missing, what is extra and what has
// another shape, before anything is loaded into the store.
TEST(Checkpoint, AnotherModelsFileIsRefusedNamingTheTensors) {
  const Dataset data = make_moons(100, 0.2, 9);
  testing::TempDir dir;
  TrainerOptions o = adam_options(1);
  o.output_dir = dir.path.string();
  Sequential wide;
  wide.dense(16, "relu").dense(2);  // dense1/W 2x16, dense2/W 16x2: no dense3
  Trainer(wide, {DType::f32, Shape{2}}, 2, o).fit(data);
  Trainer other(mlp(), {DType::f32, Shape{2}}, 2, adam_options(1));  // dense1 2x16, dense2 16x16, dense3 16x2
  std::string message;
  try {
    other.load_checkpoint((dir.path / "checkpoint.bin").string());
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("is not a checkpoint of this model; missing from the file (6): dense3/W"), std::string::npos)
      << message;
  EXPECT_NE(message.find("'dense2/W' is f32[16, 2] in the file, f32[16, 16] in the model"), std::string::npos) << message;
  // the same model's checkpoint loads
  Trainer same(wide, {DType::f32, Shape{2}}, 2, adam_options(1));
  EXPECT_NO_THROW(same.load_checkpoint((dir.path / "checkpoint.bin").string()));
}

}  // namespace
}  // namespace symgrad
