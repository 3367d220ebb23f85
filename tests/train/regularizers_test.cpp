// Regularizer plugins in the Trainer, through the real loader, each showing its documented effect:
// constraints hold after every step, the dropout regularizer is the dropout layer, noise is
// training-only and reproducible, label smoothing's loss is torch's formula, activation penalties
// make hidden units exactly zero more often, tying pulls two layers together.

#include <cmath>

#include <gtest/gtest.h>

#include "symgrad/core/error.hpp"
#include "symgrad/data/synthetic.hpp"
#include "symgrad/ops/ops.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {
namespace {

TrainerOptions opts(std::int64_t epochs, const std::string& optimizer, double lr) {
  TrainerOptions o;
  o.epochs = epochs;
  o.batch_size = 32;
  o.seed = 3;
  o.optimizer = optimizer;
  o.optimizer_settings = {{"lr", lr}};
  return o;
}

std::vector<double> column_norms(const Tensor& w) {  // [in, units]: the norm of each unit's weights
  const std::int64_t in = w.shape()[0], units = w.shape()[1];
  std::vector<double> n(static_cast<std::size_t>(units), 0.0);
  for (std::int64_t i = 0; i < in; ++i) {
    for (std::int64_t j = 0; j < units; ++j) n[static_cast<std::size_t>(j)] += std::pow(w.get(i * units + j), 2);
  }
  for (double& v : n) v = std::sqrt(v);
  return n;
}

// Checks a condition on the store after every step.
class EveryStep final : public Strategy {
 public:
  explicit EveryStep(std::function<void(const VariableStore&, std::int64_t)> check) : check_(std::move(check)) {}
  void on_step_end(TrainEvent& e) override { check_(*e.store, e.step); }

 private:
  std::function<void(const VariableStore&, std::int64_t)> check_;
};

// With a large learning rate the weights would grow past the bounds; after every step each unit's
// norm is <= c (max_norm) and the whole tensor's L1 norm is <= c (l1_ball), and the bounds are met
// (active), not merely respected.
TEST(Constraints, HoldAfterEveryStep) {
  const Dataset data = make_moons(300, 0.2, 1);
  Sequential m;
  m.dense(16, "relu").dense(2);
  Trainer t(m, {DType::f32, Shape{2}}, 2, opts(5, "sgd", 1.0));
  auto max_norm = PluginRegistry::global().make_regularizer("max_norm", {{"c", 0.5}});
  auto l1_ball = PluginRegistry::global().make_regularizer("l1_ball", {{"c", 3.0}, {"pattern", std::string("dense2/W")}});
  double widest = 0, l1 = 0;
  EveryStep check([&](const VariableStore& s, std::int64_t step) {
    for (double n : column_norms(s.get("dense1/W"))) {
      ASSERT_LE(n, 0.5 * (1 + 1e-6)) << "step " << step;
      widest = std::max(widest, n);
    }
    l1 = 0;
    for (double v : s.get("dense2/W").to_vector()) l1 += std::abs(v);
    ASSERT_LE(l1, 3.0 * (1 + 1e-5)) << "step " << step;
  });
  t.add(*max_norm, "max_norm");
  t.add(*l1_ball, "l1_ball");
  t.add(check);
  t.fit(data);
  EXPECT_GT(widest, 0.499);  // the constraint was active
  EXPECT_GT(l1, 2.99);
}

// The regularizer inserts what the dropout layer is: the same masks, the same training, bit for bit.
TEST(DropoutRegularizer, IsTheDropoutLayer) {
  const Dataset data = make_moons(300, 0.2, 2);
  Sequential by_hand;
  by_hand.dense(16, "relu").dropout(0.3).dense(2);
  Trainer a(by_hand, {DType::f32, Shape{2}}, 2, opts(3, "adam", 0.01));
  a.fit(data);
  Sequential plain;
  plain.dense(16, "relu").dense(2);
  Trainer b(plain, {DType::f32, Shape{2}}, 2, opts(3, "adam", 0.01));
  auto d = PluginRegistry::global().make_regularizer("dropout", {{"p", 0.3}});
  b.add(*d, "dropout");
  b.fit(data);
  EXPECT_EQ(a.store().get("dense2/W").to_vector(), b.store().get("dense2/W").to_vector());
  EXPECT_EQ(a.evaluate(data).loss, b.evaluate(data).loss);
  // the course's keep_prob = 0.7 is p = 0.3: the same training again; with p too it is refused
  Trainer c(plain, {DType::f32, Shape{2}}, 2, opts(3, "adam", 0.01));
  auto kept = PluginRegistry::global().make_regularizer("dropout", {{"keep_prob", 0.7}});
  c.add(*kept, "dropout");
  c.fit(data);
  EXPECT_EQ(a.store().get("dense2/W").to_vector(), c.store().get("dense2/W").to_vector());
  EXPECT_THROW(PluginRegistry::global().make_regularizer("dropout", {{"keep_prob", 0.7}, {"p", 0.2}}), UsageError);
}

// The hidden-unit regularizers act on a hidden unit's value after its activation, wherever the
// activation is: on a CNN whose convolution is followed by batch norm and an activation layer, the
// activation layer's output (not the convolution's, before batch norm); and on a dense layer with
// its own activation, its output. Every such regularizer, through the real loader.
TEST(HiddenUnitRegularizers, ActAfterTheActivationWhereverItIs) {
  Sequential cnn;
  cnn.conv2d(4, 3).batch_norm().activation("relu").flatten().dense(8, "tanh").dense(2);
  const Model m = cnn.to_model({DType::f32, Shape{1, 6, 6}});
  auto dropout = PluginRegistry::global().make_regularizer("dropout", {{"p", 0.5}});
  auto noise = PluginRegistry::global().make_regularizer("noise", {{"target", std::string("hidden")}});
  for (Extension* e : std::vector<Extension*>{dropout.get(), noise.get()}) {
    Graph g;
    const BuiltModel b = m.build(g, Mode::train, DType::f32, {e});
    std::vector<std::string> names;
    for (const auto& r : b.forward.randoms) names.push_back(r.name);
    const std::string kind = e == dropout.get() ? "dropout" : "noise";
    EXPECT_EQ(names, (std::vector<std::string>{kind + "/activation1" + (kind == "dropout" ? "/mask" : ""),
                                               kind + "/dense1" + (kind == "dropout" ? "/mask" : "")}))
        << kind;
  }
  auto penalty = PluginRegistry::global().make_regularizer("activation_l1", {{"lambda", 0.1}});
  Graph g;
  const BuiltModel b = m.build(g, Mode::train, DType::f32, {penalty.get()});
  EXPECT_EQ(b.forward.penalties.size(), 2u);  // activation1's and dense1's outputs
}

// Noise on inputs, hidden units or weights changes training (and the same seed the same way), never
// evaluation; a zero standard deviation is no noise at all.
TEST(NoiseRegularizer, TrainingOnlyAndReproducible) {
  const Dataset data = make_moons(200, 0.2, 3);
  auto train = [&](const Settings& s) {
    Sequential m;
    m.dense(16, "tanh").dense(2);
    Trainer t(m, {DType::f32, Shape{2}}, 2, opts(2, "sgd", 0.1));
    std::unique_ptr<Regularizer> r;
    if (!s.empty()) {
      r = PluginRegistry::global().make_regularizer("noise", s);
      t.add(*r, "noise");
    }
    t.fit(data);
    EXPECT_EQ(t.evaluate(data).loss, t.evaluate(data).loss);  // inference draws nothing
    return t.store().get("dense1/W").to_vector();
  };
  const auto plain = train({});
  EXPECT_EQ(train({{"std", 0.0}}), plain);
  for (const char* target : {"input", "hidden", "weights"}) {
    const Settings s = {{"target", std::string(target)}, {"std", 0.3}};
    const auto noisy = train(s);
    EXPECT_NE(noisy, plain) << target;
    EXPECT_EQ(train(s), noisy) << target;
  }
  EXPECT_NE(train({{"target", std::string("hidden")}, {"std", 0.3}, {"kind", std::string("multiplicative")}}), plain);
}

// The smoothed loss -sum_j q_j log p_j with q = (1 - e) one_hot + e / C (torch's label_smoothing),
// worked out for one example with logits (2, 0, -1), label 0, e = 0.3.
TEST(LabelSmoothing, IsTorchsSmoothedCrossEntropy) {
  Graph g;
  Value z = g.input("z", {DType::f64, Shape{Shape::kOpen, 3}});
  Value y = g.input("y", {DType::i32, Shape{Shape::kOpen}});
  auto reg = PluginRegistry::global().make_regularizer("label_smoothing", {{"epsilon", 0.3}});
  ModelContext ctx(g, Mode::train, DType::f64);
  reg->on_layer_output(ctx, LayerOutput{"dense1", "dense", 0, LayerOutput::Stage::output, "none", true, z});
  ASSERT_EQ(ctx.forward().penalties.size(), 1u);
  Value total = mean(softmax_cross_entropy(z, y)) + ctx.forward().penalties[0];
  const double lse = std::log(std::exp(2.0) + 1 + std::exp(-1.0));
  const double logp[3] = {2 - lse, 0 - lse, -1 - lse};
  const double want = -(0.7 + 0.1) * logp[0] - 0.1 * logp[1] - 0.1 * logp[2];
  const auto out = compile(g, {total}).run(
      {{"z", Tensor::from(DType::f64, Shape{1, 3}, {2, 0, -1})}, {"y", Tensor::from(DType::i32, Shape{1}, {0})}});
  EXPECT_NEAR(out[0].get(0), want, 1e-14);
}

// Sparse representations: the fraction of hidden ReLU units that are exactly 0 on the data rises
// with the activation penalty.
TEST(ActivationPenalty, MoreExactZerosWithTheL1Penalty) {
  const Dataset data = make_moons(400, 0.2, 4);
  auto zero_fraction = [&](double lambda) {
    Sequential m;
    m.dense(32, "relu").dense(2);
    Trainer t(m, {DType::f32, Shape{2}}, 2, opts(15, "adam", 0.01));
    auto r = PluginRegistry::global().make_regularizer("activation_l1", {{"lambda", lambda}});
    t.add(*r, "activation_l1");
    t.fit(data);
    const Tensor &w = t.store().get("dense1/W"), &b = t.store().get("dense1/b");
    std::int64_t zeros = 0;
    for (std::int64_t i = 0; i < data.size(); ++i) {
      for (std::int64_t j = 0; j < 32; ++j) {
        const double h = data.features.get(2 * i) * w.get(j) + data.features.get(2 * i + 1) * w.get(32 + j) + b.get(j);
        zeros += h <= 0;
      }
    }
    return static_cast<double>(zeros) / static_cast<double>(data.size() * 32);
  };
  const double none = zero_fraction(0), some = zero_fraction(0.01), more = zero_fraction(0.1);
  EXPECT_GT(some, none) << "zero fractions " << none << ", " << some << ", " << more;
  EXPECT_GT(more, some) << "zero fractions " << none << ", " << some << ", " << more;
  EXPECT_GT(more, 0.8) << "zero fractions " << none << ", " << some << ", " << more;
}

// Soft tying pulls dense2/W and dense3/W together.
TEST(TyingRegularizer, PullsTwoLayersTogether) {
  const Dataset data = make_moons(200, 0.2, 5);
  auto distance = [&](double lambda) {
    Sequential m;
    m.dense(8, "tanh").dense(8, "tanh").dense(8, "tanh").dense(2);
    Trainer t(m, {DType::f32, Shape{2}}, 2, opts(10, "adam", 0.01));
    auto r = PluginRegistry::global().make_regularizer("tying", {{"lambda", lambda}});
    t.add(*r, "tying");
    t.fit(data);
    const auto a = t.store().get("dense2/W").to_vector(), b = t.store().get("dense3/W").to_vector();
    double d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d += std::pow(a[i] - b[i], 2);
    return std::sqrt(d);
  };
  EXPECT_LT(distance(1.0), 0.2 * distance(0.0));
}

}  // namespace
}  // namespace symgrad

#include "symgrad/train/ensemble.hpp"

namespace symgrad {
namespace {

// Bagging on the noisy moons of regularize_none.toml (a large network that overfits 300 points):
// the averaged and voted predictions of 5 members on bootstrap resamples are not worse than the
// mean member, and the members differ (each its own resample and initialization).
TEST(Bagging, EnsembleNotWorseThanTheMeanMember) {
  const Experiment x = load_experiment(std::string(SYMGRAD_EXPERIMENTS_DIR) + "/regularize_none.toml", {"output="});
  const ExperimentData data = load_experiment_data(x);
  const EnsembleResult r = train_bagging(x, data, 5);
  ASSERT_EQ(r.members.size(), 5u);
  EXPECT_GE(r.averaged_accuracy, r.mean_member_accuracy);
  EXPECT_GE(r.vote_accuracy, r.mean_member_accuracy);
  EXPECT_NE(r.members[0].loss, r.members[1].loss);
}

}  // namespace
}  // namespace symgrad

#include "symgrad/train/retraining.hpp"

namespace symgrad {
namespace {

// Algorithm 7.2 trains new first values on training + validation data for exactly the best run's
// number of steps; Algorithm 7.3 continues from the best model until the validation loss is below
// the training loss at the best point.
TEST(EarlyStoppingRetraining, BothAlgorithmsOfTheBook) {
  const Experiment x = load_experiment(std::string(SYMGRAD_EXPERIMENTS_DIR) + "/regularize_early_stopping.toml",
                                       {"output=", "epochs=120", "regularizer.early_stopping.patience=5"});
  const ExperimentData data = load_experiment_data(x);
  auto first_run = [&](std::vector<std::unique_ptr<Regularizer>>& keep) {
    auto t = std::make_unique<Trainer>(x.model(data.train), x.trainer_options());
    keep.push_back(PluginRegistry::global().make_regularizer("early_stopping", {{"patience", std::int64_t{5}}}));
    t->add(*keep.back(), "early_stopping");
    t->fit(data.train, &data.validation);
    return t;
  };
  std::vector<std::unique_ptr<Regularizer>> keep;
  auto first = first_run(keep);
  const auto best_step = static_cast<std::int64_t>(first->store().get("early_stopping/best_step").get(0));
  ASSERT_GT(best_step, 0);
  const Retraining scratch = retrain_after_early_stopping(x, data, *first, "from_scratch", "");
  EXPECT_EQ(scratch.steps, best_step);
  EXPECT_GT(scratch.trainer->evaluate(data.test).accuracy, 0.75);

  const Retraining more = retrain_after_early_stopping(x, data, *first, "continue", "");
  EXPECT_NEAR(more.target, first->evaluate(data.train).loss, 1e-12);
  ASSERT_FALSE(more.records.empty());
  if (more.records.size() < 120u) {  // stopped by the rule, not by the cap
    EXPECT_LT(more.records.back().val_loss, more.target);
  }
  EXPECT_THROW(retrain_after_early_stopping(x, data, *first, "sideways", ""), UsageError);
}

}  // namespace
}  // namespace symgrad
