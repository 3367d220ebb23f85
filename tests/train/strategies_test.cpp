// Strategy plugins in the Trainer, through the real loader: each shows its documented effect
// (batch normalization trains a deep sigmoid network that plain SGD cannot; Polyak's average beats
// the last iterate on a noisy convex problem), the batch-norm strategy is the hand-written layer,
// and a run with strategy state resumes bitwise.

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/data/synthetic.hpp"
#include "symgrad/io/variables_file.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {
namespace {

TrainerOptions sgd(std::int64_t epochs, double lr, std::int64_t batch) {
  TrainerOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.seed = 1;
  o.optimizer = "sgd";
  o.optimizer_settings = {{"lr", lr}};
  o.initializer = "glorot";
  return o;
}

std::map<std::string, std::vector<double>> variables_of(const VariableStore& s) {
  std::map<std::string, std::vector<double>> w;
  for (const auto& n : s.names()) w[n] = s.get(n).to_vector();
  return w;
}

// The strategy inserts what a hand-written batch_norm layer is: the same training, bit for bit,
// under its own variable names, and not after the last layer.
TEST(BatchNormStrategy, IsTheHandWrittenLayer) {
  const Dataset data = make_moons(300, 0.2, 3);
  Sequential by_hand;
  by_hand.dense(16).batch_norm().activation("relu").dense(2);
  Trainer a(by_hand, {DType::f32, Shape{2}}, 2, sgd(3, 0.1, 32));
  a.fit(data);

  Sequential plain;
  plain.dense(16, "relu").dense(2);
  Trainer b(plain, {DType::f32, Shape{2}}, 2, sgd(3, 0.1, 32));
  auto bn = PluginRegistry::global().make_strategy("batch_norm");
  b.add(*bn, "batch_norm");
  b.fit(data);

  for (const char* v : {"dense1/W", "dense1/b", "dense2/W", "dense2/b"}) {
    EXPECT_EQ(a.store().get(v).to_vector(), b.store().get(v).to_vector()) << v;
  }
  EXPECT_EQ(a.store().get("bn1/running_var").to_vector(), b.store().get("batch_norm/dense1/running_var").to_vector());
  EXPECT_EQ(a.store().get("bn1/gamma").to_vector(), b.store().get("batch_norm/dense1/gamma").to_vector());
  EXPECT_FALSE(b.store().has("batch_norm/dense2/gamma"));  // the logits are left alone
  EXPECT_EQ(a.evaluate(data).loss, b.evaluate(data).loss);  // inference on the running statistics
}

// Eight sigmoid layers and plain SGD: without batch normalization the network stays at chance on
// three spirals; with the strategy it learns them (the experiment strategy_batch_norm.toml).
TEST(BatchNormStrategy, TrainsADeepSigmoidNetwork) {
  const Dataset data = make_spirals(1500, 3, 0.1, 5);
  auto [train, val] = split_validation(data, 0.2, 6);
  Sequential deep;
  for (int i = 0; i < 8; ++i) deep.dense(32, "sigmoid");
  deep.dense(3);
  Trainer plain(deep, {DType::f32, Shape{2}}, 3, sgd(25, 0.1, 32));
  const double without = plain.fit(train, &val).back().val_accuracy;
  Trainer normalized(deep, {DType::f32, Shape{2}}, 3, sgd(25, 0.1, 32));
  auto bn = PluginRegistry::global().make_strategy("batch_norm");
  normalized.add(*bn, "batch_norm");
  const double with = normalized.fit(train, &val).back().val_accuracy;
  EXPECT_LT(without, 0.45) << "without batch norm";
  EXPECT_GT(with, 0.7) << "with batch norm (without: " << without << ")";
}

// Softmax regression on overlapping blobs with SGD at a high fixed rate: training is the same with
// and without Polyak averaging (bitwise), evaluation with the average has a lower loss.
TEST(PolyakStrategy, AveragedIterateBeatsTheLastOnANoisyConvexProblem) {
  const Dataset data = make_blobs(1600, 4, 2.0, 7), test = make_blobs(1600, 4, 2.0, 8);
  Sequential linear;
  linear.dense(4);
  Trainer last(linear, {DType::f32, Shape{2}}, 4, sgd(10, 1.0, 4));
  last.fit(data);
  Trainer averaged(linear, {DType::f32, Shape{2}}, 4, sgd(10, 1.0, 4));
  auto polyak = PluginRegistry::global().make_strategy("polyak", {{"start", std::int64_t{200}}});
  averaged.add(*polyak, "polyak");
  averaged.fit(data);
  EXPECT_EQ(last.store().get("dense1/W").to_vector(), averaged.store().get("dense1/W").to_vector());
  const double l = last.evaluate(test).loss, a = averaged.evaluate(test).loss;
  EXPECT_LT(a, 0.85 * l) << "averaged " << a << ", last iterate " << l;
  // what evaluation reads: the average, also in the evaluation store (variables.bin)
  EXPECT_EQ(averaged.evaluation_store().get("dense1/W").to_vector(), averaged.store().get("polyak/average/dense1/W").to_vector());
  EXPECT_NE(averaged.evaluation_store().get("dense1/W").to_vector(), averaged.store().get("dense1/W").to_vector());
}

// Batch-norm statistics recomputed for the averaged weights: with the whole set in one batch, the
// running mean starts over at 0 and takes one step, 0.1 (mean(x) W + b) with the averaged W and b.
TEST(PolyakStrategy, RecomputesBatchNormStatisticsForTheAverages) {
  const Dataset data = make_moons(200, 0.2, 15);
  Sequential m;
  m.dense(4).batch_norm().activation("relu").dense(2);
  Trainer t(m, {DType::f32, Shape{2}}, 2, sgd(5, 0.5, 200));
  auto polyak = PluginRegistry::global().make_strategy("polyak", {{"recompute_batch_norm", true}});
  t.add(*polyak, "polyak");
  t.fit(data);
  const auto w = t.store().get("polyak/average/dense1/W").to_vector(), b = t.store().get("polyak/average/dense1/b").to_vector();
  double mx[2] = {0, 0};
  for (std::int64_t i = 0; i < data.size(); ++i) {
    for (int j = 0; j < 2; ++j) mx[j] += data.features.get(i * 2 + j) / static_cast<double>(data.size());
  }
  const auto rm = t.store().get("bn1/running_mean").to_vector();
  for (int u = 0; u < 4; ++u) EXPECT_NEAR(rm[u], 0.1 * (mx[0] * w[u] + mx[1] * w[4 + u] + b[u]), 1e-5) << "unit " << u;
}

// Every strategy with every first-order optimizer: an epoch trains, the loss stays finite, the
// strategy's state is in the store.
TEST(Strategies, WorkWithEveryFirstOrderOptimizer) {
  const Dataset data = make_moons(128, 0.2, 16);
  const std::vector<std::pair<std::string, std::string>> strategies = {
      {"batch_norm", "batch_norm/dense1/running_mean"}, {"coordinate_descent", "coordinate_descent/block"},
      {"polyak", "polyak/average/dense1/W"},           {"pretraining", "pretraining/stage"},
      {"curriculum", "dense1/W"}};
  for (const char* optimizer : {"sgd", "momentum", "adagrad", "rmsprop", "adam", "adamw"}) {
    for (const auto& [name, state] : strategies) {
      SCOPED_TRACE(std::string(optimizer) + " with " + name);
      Sequential m;
      m.dense(8, "tanh").dense(2);
      TrainerOptions o = sgd(2, 0.01, 32);
      o.optimizer = optimizer;
      o.optimizer_settings = {{"lr", 0.01}};
      Trainer t(m, {DType::f32, Shape{2}}, 2, o);
      auto s = PluginRegistry::global().make_strategy(name);
      t.add(*s, name);
      const auto r = t.fit(data);
      EXPECT_TRUE(std::isfinite(r.back().train_loss));
      EXPECT_TRUE(t.store().has(state));
    }
  }
}

// Two epochs, a checkpoint, two more: the same variables as four in one go, with the state of
// Polyak averaging, random coordinate blocks and batch normalization's statistics in the step.
TEST(Strategies, ResumeBitwiseWithTheirState) {
  const Dataset data = make_moons(200, 0.2, 9);
  Sequential m;
  m.dense(8, "tanh").dense(2);
  auto make = [&](const std::string& dir, std::int64_t epochs, auto& keep) {
    TrainerOptions o = sgd(epochs, 0.2, 16);
    o.output_dir = dir;
    auto t = std::make_unique<Trainer>(m, TensorType{DType::f32, Shape{2}}, 2, o);
    auto& r = PluginRegistry::global();
    keep.push_back(r.make_strategy("batch_norm"));
    t->add(*keep.back(), "batch_norm");
    keep.push_back(r.make_strategy("coordinate_descent", {{"block", std::string("unit")}, {"order", std::string("random")}}));
    t->add(*keep.back(), "coordinate_descent");
    keep.push_back(r.make_strategy("polyak", {{"mode", std::string("ema")}, {"decay", 0.9}}));
    t->add(*keep.back(), "polyak");
    return t;
  };
  testing::TempDir dir;
  std::vector<std::unique_ptr<Strategy>> keep;
  auto straight = make((dir.path / "a").string(), 4, keep);
  straight->fit(data);
  auto first = make((dir.path / "b").string(), 2, keep);
  first->fit(data);
  auto second = make((dir.path / "b").string(), 4, keep);
  second->load_checkpoint((dir.path / "b" / "checkpoint.bin").string());
  second->fit(data);
  EXPECT_TRUE(straight->store().has("polyak/average/dense1/W"));
  EXPECT_TRUE(straight->store().has("batch_norm/dense1/running_mean"));
  EXPECT_EQ(variables_of(second->store()), variables_of(straight->store()));
}

// A host-driven optimizer in the trainer: one L-BFGS iteration an epoch over the whole training set's
// objective; the loss falls to what many minibatch epochs reach, and what cannot be full-batch is
// refused with the reason.
TEST(Trainer, HostDrivenOptimizersTrainFullBatch) {
  const Dataset data = make_moons(400, 0.2, 11);
  Sequential m;
  m.dense(8, "tanh").dense(2);
  TrainerOptions o = sgd(30, 0.1, 32);
  o.optimizer = "lbfgs";
  o.optimizer_settings = {};
  Trainer t(m, {DType::f32, Shape{2}}, 2, o);
  const auto records = t.fit(data);
  ASSERT_EQ(records.size(), 30u);
  EXPECT_LT(records.back().train_loss, 0.5 * records.front().train_loss);
  EXPECT_GE(records.back().train_accuracy, 0.85);
  EXPECT_EQ(records.back().train_loss, t.evaluate(data).loss);  // the loss at the parameters it left

  Sequential dropout;
  dropout.dense(8, "tanh").dropout(0.5).dense(2);
  Trainer refused(dropout, {DType::f32, Shape{2}}, 2, o);
  try {
    refused.fit(data);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'lbfgs' is host-driven"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no dropout"), std::string::npos) << e.what();
  }
}

// The last row of a metrics CSV file, by column name.
std::map<std::string, double> last_row(const std::filesystem::path& csv) {
  std::ifstream in(csv);
  std::string header, line, last;
  std::getline(in, header);
  while (std::getline(in, line)) last = line;
  std::map<std::string, double> row;
  std::stringstream names(header), cells(last);
  for (std::string n, c; std::getline(names, n, ',') && std::getline(cells, c, ',');) row[n] = std::stod(c);
  return row;
}

// A host-driven optimizer keeps its state from one epoch to the next although the store rounds
// its point to float32 between them: BFGS (H0 scaled once) and L-BFGS (H0 scaled by the newest
// pair) part after their second iteration, and near a minimum each accepts the unit step, about
// one gradient an iteration (restarting every epoch, both were steepest descent with a fresh line
// search, on the same path, 2.3 gradients an iteration). metrics-steps.csv counts the objective's
// evaluations.
TEST(Trainer, HostDrivenOptimizersKeepTheirStateAcrossEpochs) {
  const Dataset data = make_moons(400, 0.2, 11);
  testing::TempDir dir;
  std::map<std::string, std::vector<EpochRecord>> runs;
  for (const std::string name : {"bfgs", "lbfgs"}) {
    Sequential m;
    m.dense(8, "tanh").dense(2);
    TrainerOptions o = sgd(20, 0.1, 400);
    o.optimizer = name;
    o.optimizer_settings = {};
    o.output_dir = (dir.path / name).string();
    Trainer t(m, {DType::f32, Shape{2}}, 2, o);
    runs[name] = t.fit(data);
    const auto row = last_row(dir.path / name / "metrics-steps.csv");
    EXPECT_EQ(row.at("step"), 20);
    EXPECT_LE(row.at("gradient_calls"), 30) << name;
    EXPECT_EQ(row.at("hessian_calls"), 0) << name;
  }
  // the same first two iterations (up to rounding: the dense update and the two-loop recursion)
  EXPECT_NEAR(runs["bfgs"][1].train_loss, runs["lbfgs"][1].train_loss, 1e-6 * runs["bfgs"][1].train_loss);
  EXPECT_NE(runs["bfgs"][3].train_loss, runs["lbfgs"][3].train_loss);
  EXPECT_LT(runs["lbfgs"].back().train_loss, 0.5 * runs["lbfgs"].front().train_loss);
}

// Keeps a copy of the store at the end of every epoch.
class Snapshots final : public Strategy {
 public:
  void on_train_begin(TrainEvent& e) override { taken.push_back(variables_of(*e.store)); }
  void on_epoch_end(TrainEvent& e) override { taken.push_back(variables_of(*e.store)); }
  std::vector<std::map<std::string, std::vector<double>>> taken;
};

// Greedy layer-wise: epoch 1 trains dense1 and head 1 only, epoch 2 dense2 and head 2 only, then
// fine-tuning trains the model's own layers and leaves the heads; frozen means not moved at all,
// even by Adam's momentum.
TEST(PretrainingStrategy, TrainsOneLayerAStageThenFineTunes) {
  const Dataset data = make_moons(200, 0.2, 12);
  Sequential m;
  m.dense(8, "tanh").dense(8, "tanh").dense(2);
  TrainerOptions o = sgd(3, 0.1, 32);
  o.optimizer = "adam";
  o.optimizer_settings = {{"lr", 0.01}};
  Trainer t(m, {DType::f32, Shape{2}}, 2, o);
  auto pre = PluginRegistry::global().make_strategy("pretraining", {{"epochs_per_stage", std::int64_t{1}}});
  Snapshots snap;
  t.add(*pre, "pretraining");
  t.add(snap);
  t.fit(data);
  ASSERT_EQ(snap.taken.size(), 4u);
  auto moved = [&](std::size_t epoch, const std::string& v) { return snap.taken[epoch][v] != snap.taken[epoch - 1][v]; };
  const std::vector<std::string> vars = {"dense1/W", "dense2/W", "dense3/W", "pretraining/head1/W", "pretraining/head2/W"};
  const std::vector<std::vector<bool>> want = {{true, false, false, true, false},   // stage 1
                                               {false, true, false, false, true},   // stage 2
                                               {true, true, true, false, false}};   // fine-tuning
  for (std::size_t e = 1; e <= 3; ++e) {
    for (std::size_t i = 0; i < vars.size(); ++i) EXPECT_EQ(moved(e, vars[i]), want[e - 1][i]) << "epoch " << e << " " << vars[i];
  }
}

// Transfer: weights loaded by name from an earlier run's variables, the first layer frozen.
TEST(PretrainingStrategy, LoadsByNameAndFreezesByPattern) {
  const Dataset data = make_moons(200, 0.2, 13);
  Sequential m;
  m.dense(8, "tanh").dense(2);
  Trainer first(m, {DType::f32, Shape{2}}, 2, sgd(2, 0.1, 32));
  first.fit(data);
  testing::TempDir dir;
  const std::string file = (dir.path / "variables.bin").string();
  save_variables(first.store(), file);

  TrainerOptions o = sgd(2, 0.1, 32);
  o.seed = 99;  // other first values: what it ends with comes from the file
  Trainer second(m, {DType::f32, Shape{2}}, 2, o);
  auto pre = PluginRegistry::global().make_strategy(
      "pretraining", {{"epochs_per_stage", std::int64_t{0}}, {"load", file}, {"freeze", std::string("dense1/*")}});
  second.add(*pre, "pretraining");
  second.fit(data);
  EXPECT_EQ(second.store().get("dense1/W").to_vector(), first.store().get("dense1/W").to_vector());  // loaded, frozen
  EXPECT_NE(second.store().get("dense2/W").to_vector(), first.store().get("dense2/W").to_vector());  // loaded, trained on
  EXPECT_GT(second.evaluate(data).accuracy, 0.8);
}

// Continuation: the input noise falls linearly to 0 over anneal_epochs, one level an epoch.
TEST(CurriculumStrategy, AnnealsTheInputNoise) {
  const Dataset data = make_moons(200, 0.2, 14);
  Sequential m;
  m.dense(8, "tanh").dense(2);
  Trainer t(m, {DType::f32, Shape{2}}, 2, sgd(3, 0.1, 32));
  auto c = PluginRegistry::global().make_strategy(
      "curriculum", {{"widen_epochs", std::int64_t{0}}, {"noise", 0.4}, {"anneal_epochs", std::int64_t{4}}});
  Snapshots snap;
  t.add(*c, "curriculum");
  t.add(snap);
  t.fit(data);
  for (std::size_t e = 1; e <= 3; ++e) {
    EXPECT_NEAR(snap.taken[e].at("curriculum/noise_std")[0], 0.4 * (1 - (e - 1) / 4.0), 1e-7) << "epoch " << e;
  }
  Trainer plain(m, {DType::f32, Shape{2}}, 2, sgd(3, 0.1, 32));
  plain.fit(data);
  EXPECT_NE(plain.store().get("dense1/W").to_vector(), t.store().get("dense1/W").to_vector());  // the noise was there
}

}  // namespace
}  // namespace symgrad

namespace symgrad {
namespace {

// Greedy layer-wise pretraining trains heads for one output: a model of two is refused, naming
// both outputs (through the real loader).
TEST(PretrainingStrategy, RefusesAModelOfSeveralOutputs) {
  Model m;
  m.input("x", {DType::f32, Shape{2}});
  m.body([](ModelScope& s, const NamedValues& in) {
    static const Dense h("h", 8, "relu"), a("a", 2), b("b", 3);
    Value x = h(s, in.at("x"));
    return NamedValues{{"a", a(s, x)}, {"b", b(s, x)}};
  });
  m.loss({"a", "softmax_cross_entropy", {}, "y"});
  m.loss({"b", "mse", {}, "t"});
  auto pre = PluginRegistry::global().make_strategy("pretraining", {{"epochs_per_stage", std::int64_t{1}}});
  Graph g;
  try {
    m.build(g, Mode::train, DType::f32, {pre.get()});
    FAIL() << "built";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("this model has several ('a' and 'b')"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace symgrad
