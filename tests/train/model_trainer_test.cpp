// The Trainer on any Model (train/model.hpp): regression with MSE and Huber against outliers, an
// autoencoder whose target is its input, two heads with their own labels and metrics, a residual
// net, and the errors for data the model cannot be fed.
#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/core/random.hpp"
#include "symgrad/data/synthetic.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {
namespace {

double truth(double a, double b) { return std::sin(a) + 0.5 * b; }

// n points of [-2, 2]^2 with targets f(x) + N(0, 0.1^2); `outliers` of them shifted by +8.
Dataset regression_set(std::int64_t n, double outliers, std::uint64_t seed) {
  Random rng(seed);
  Dataset d{"regression", Tensor(DType::f32, Shape{n, 2}), Tensor(), 0, {}};
  Tensor t(DType::f32, Shape{n, 1});
  for (std::int64_t i = 0; i < n; ++i) {
    const double a = 4 * rng.uniform() - 2, b = 4 * rng.uniform() - 2;
    d.features.set(2 * i, a);
    d.features.set(2 * i + 1, b);
    t.set(i, truth(a, b) + 0.1 * rng.normal() + (rng.uniform() < outliers ? 8.0 : 0.0));
  }
  d.arrays["target"] = t;
  return d;
}

Model regressor(const std::string& loss) {
  Model m;
  m.input("x", {DType::f32, Shape{2}});
  m.body([](ModelScope& s, const NamedValues& in) {
    static const Dense h1("h1", 32, "tanh"), h2("h2", 32, "tanh"), out("out", 1);
    return NamedValues{{"y", out(s, h2(s, h1(s, in.at("x"))))}};
  });
  m.loss({"y", loss, {}, "target"});
  return m;
}

TrainerOptions options(std::int64_t epochs, double lr = 0.01) {
  TrainerOptions o;
  o.epochs = epochs;
  o.batch_size = 32;
  o.seed = 5;
  o.optimizer_settings = {{"lr", lr}};
  return o;
}

TEST(ModelTrainer, HuberStaysCloserToTheTrueFunctionThanMseUnderOutliers) {
  const Dataset train = regression_set(400, 0.1, 1);
  const Dataset clean = regression_set(400, 0.0, 2);  // the true function (and its noise)
  double rmse[2];
  int k = 0;
  for (const char* loss : {"mse", "huber"}) {
    Trainer t(regressor(loss), options(60));
    const auto records = t.fit(train);
    EXPECT_EQ(records.back().metric, "rmse");
    const Evaluation e = t.evaluate(clean);
    EXPECT_EQ(e.metric, "rmse");
    EXPECT_DOUBLE_EQ(e.accuracy, e.metrics.at("y/rmse"));
    EXPECT_TRUE(e.metrics.count("y/mae") && e.metrics.count("y/r2") && e.metrics.count("y/loss"));
    rmse[k++] = e.metrics.at("y/rmse");
  }
  // MSE chases the outliers' mean shift (0.1 * 8 = 0.8 on average); Huber's bounded gradient does not
  EXPECT_LT(rmse[1], 0.6 * rmse[0]) << "mse " << rmse[0] << ", huber " << rmse[1];
}

TEST(ModelTrainer, AnAutoencoderLearnsToReconstructItsInput) {
  Model m;
  m.input("x", {DType::f32, Shape{2}});
  m.body([](ModelScope& s, const NamedValues& in) {
    static const Dense enc("enc", 8, "tanh"), dec("dec", 2);
    return NamedValues{{"reconstruction", dec(s, enc(s, in.at("x")))}};
  });
  m.loss({"reconstruction", "mse", {}, "x"});
  const Dataset data = make_moons(256, 0.1, 3);
  Trainer t(m, options(40));
  const Evaluation before = t.evaluate(data);
  t.fit(data);
  const Evaluation after = t.evaluate(data);
  EXPECT_LT(after.loss, 0.1 * before.loss) << before.loss << " -> " << after.loss;
  EXPECT_LT(after.metrics.at("reconstruction/r2"), 1.0);
  EXPECT_GT(after.metrics.at("reconstruction/r2"), 0.9);
}

TEST(ModelTrainer, TwoHeadsTrainOnTheirOwnLabels) {
  // four blobs: the fine label is the blob, the coarse one which half of the plane it is in
  Dataset data = make_blobs(400, 4, 0.5, 4);
  Tensor coarse(DType::i32, Shape{data.size()});
  for (std::int64_t i = 0; i < data.size(); ++i) coarse.set(i, data.labels.get(i) >= 2 ? 1 : 0);
  data.arrays["coarse"] = coarse;
  Model m;
  m.input("x", {DType::f32, Shape{2}});
  m.body([](ModelScope& s, const NamedValues& in) {
    static const Dense trunk("trunk", 16, "relu"), fine("fine", 4), half("half", 2);
    Value h = trunk(s, in.at("x"));
    return NamedValues{{"fine", fine(s, h)}, {"coarse", half(s, h)}};
  });
  m.loss({"fine", "softmax_cross_entropy", {}, "y"});
  m.loss({"coarse", "softmax_cross_entropy", {}, "coarse", 0.5});
  Trainer t(m, options(30));
  const auto records = t.fit(data, &data);
  ASSERT_FALSE(records.empty());
  EXPECT_TRUE(records.back().val_metrics.count("coarse/accuracy"));
  const Evaluation e = t.evaluate(data);
  EXPECT_GT(e.metrics.at("fine/accuracy"), 0.9);
  EXPECT_GT(e.metrics.at("coarse/accuracy"), 0.9);
  EXPECT_DOUBLE_EQ(e.accuracy, e.metrics.at("fine/accuracy"));  // the first loss's output
  EXPECT_NEAR(e.loss, e.metrics.at("fine/loss") + 0.5 * e.metrics.at("coarse/loss"), 1e-6);
  // the data set without the coarse labels cannot be fed
  Dataset missing = data;
  missing.arrays.clear();
  try {
    t.evaluate(missing);
    FAIL() << "evaluated without the coarse labels";
  } catch (const UsageError& e2) {
    EXPECT_NE(std::string(e2.what()).find("data set 'blobs' has no array 'coarse'; it has: x, y"), std::string::npos)
        << e2.what();
  }
}

TEST(ModelTrainer, AResidualNetTrainsAndResumesBitwise) {
  Model m;
  m.input("x", {DType::f32, Shape{2}});
  m.body([](ModelScope& s, const NamedValues& in) {
    static const Dense stem("stem", 16, "relu"), a("a", 16, "relu"), b("b", 16), head("head", 2);
    static const Merge skip("skip", Merge::Kind::add);
    static const Activation act("act", "relu");
    Value h = stem(s, in.at("x"));
    h = act(s, skip(s, {h, b(s, a(s, h))}));
    return NamedValues{{"logits", head(s, h)}};
  });
  m.loss({"logits"});
  const Dataset data = make_moons(300, 0.1, 6);
  Trainer whole(m, options(12));
  whole.fit(data);
  EXPECT_GT(whole.evaluate(data).accuracy, 0.9);
  // six epochs, a checkpoint, six more from it: the same bits as twelve at once
  testing::TempDir dir;
  const std::string checkpoint = (dir.path / "checkpoint.bin").string();
  Trainer first(m, options(6));
  first.fit(data);
  first.save_checkpoint(checkpoint);
  Trainer second(m, options(12));
  second.load_checkpoint(checkpoint);
  second.fit(data);
  for (const auto& name : whole.store().names()) {
    const Tensor& a = whole.store().get(name);
    const Tensor& b = second.store().get(name);
    ASSERT_EQ(a.nbytes(), b.nbytes()) << name;
    EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0) << name;
  }
}

// Early stopping (through the real loader) watches any metric the run measures: a regression's
// validation RMSE (minimized), and restores the weights of the epoch where it was lowest; an unknown
// name stops the run listing the metrics there are.
TEST(ModelTrainer, EarlyStoppingWatchesARegressionsValidationRmse) {
  const Dataset train = regression_set(200, 0.0, 7), validation = regression_set(100, 0.0, 8);
  auto stop = PluginRegistry::global().make_regularizer("early_stopping", {{"monitor", std::string("val_rmse")},
                                                                           {"patience", std::int64_t{2}}});
  Trainer t(regressor("mse"), options(200, 0.05));
  t.add(*stop, "early_stopping");
  const auto records = t.fit(train, &validation);
  ASSERT_LT(records.size(), 200u) << "never stopped";
  double best = records.front().val_accuracy;
  for (const auto& r : records) best = std::min(best, r.val_accuracy);
  EXPECT_EQ(t.store().get("early_stopping/best_value").get(0), best);
  EXPECT_NEAR(t.evaluate(validation).accuracy, best, 1e-6 * best);  // the best epoch's weights, back
  auto unknown = PluginRegistry::global().make_regularizer("early_stopping", {{"monitor", std::string("val_accuracy")}});
  Trainer u(regressor("mse"), options(3));
  u.add(*unknown, "early_stopping");
  try {
    u.fit(train, &validation);
    FAIL() << "trained watching a metric that is not measured";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("monitors 'val_accuracy', which this run does not measure"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("val_rmse"), std::string::npos) << e.what();
  }
}

// A classifier of more than 5 classes also reports top-5 accuracy (the class among the 5 highest
// scores): at least the accuracy, and every example for a model whose label is always in its top 5.
TEST(ModelTrainer, TopFiveAccuracyForManyClasses) {
  const Dataset data = make_blobs(400, 8, 1.5, 9);
  Sequential s;
  s.dense(16, "relu").dense(8);
  Trainer t(s, {DType::f32, Shape{2}}, 8, options(3));
  t.fit(data);
  const Evaluation e = t.evaluate(data);
  ASSERT_TRUE(e.metrics.count("logits/top5"));
  EXPECT_GE(e.metrics.at("logits/top5"), e.accuracy);
  EXPECT_LT(e.accuracy, 1.0);
  const Dataset four = make_blobs(100, 4, 0.5, 9);
  Sequential s4;
  s4.dense(4);
  Trainer t4(s4, {DType::f32, Shape{2}}, 4, options(1));
  EXPECT_FALSE(t4.evaluate(four).metrics.count("logits/top5"));  // 4 classes: always in the top 5
}

// Monte-Carlo prediction through a linear model with inverted dropout on its inputs: each sampled
// output is W (m x / (1 - p)) + b with a mask m, whose mean is W x + b, the inference pass's (the
// weight-scaling rule is exact here): 4000 samples come within 5 standard errors of it, the same
// seed gives the same values, another seed others. A model with nothing random, or with batch
// normalization, is refused with the reason.
TEST(ModelTrainer, SampledPredictionAveragesToTheInferencePassOfALinearModel) {
  const Dataset data = regression_set(20, 0.0, 3);
  Model m;
  m.input("x", {DType::f32, Shape{2}});
  m.body([](ModelScope& s, const NamedValues& in) {
    static const Dropout drop("drop", 0.5);
    static const Dense out("out", 1);
    return NamedValues{{"y", out(s, drop(s, in.at("x")))}};
  });
  m.loss({"y", "mse", {}, "target"});
  Trainer t(std::move(m), options(5));
  t.fit(data);
  const Tensor exact = t.predict(data);
  constexpr std::int64_t k = 4000;
  const Tensor mean = t.predict_sampled(data, k, 7).at("y");
  const Tensor& w = t.store().get("out/W");
  for (std::int64_t i = 0; i < data.size(); ++i) {
    // a sample's variance: sum_j (w_j x_j)^2 p / (1 - p), p = 1/2
    double var = 0;
    for (std::int64_t j = 0; j < 2; ++j) var += std::pow(w.get(j) * data.features.get(2 * i + j), 2);
    EXPECT_NEAR(mean.get(i), exact.get(i), 5 * std::sqrt(var / k) + 1e-6) << "example " << i;
  }
  const Tensor again = t.predict_sampled(data, 3, 7).at("y"), other = t.predict_sampled(data, 3, 8).at("y");
  const Tensor first = t.predict_sampled(data, 3, 7).at("y");
  EXPECT_EQ(std::memcmp(again.raw(), first.raw(), static_cast<std::size_t>(again.numel()) * 8), 0);
  EXPECT_NE(std::memcmp(again.raw(), other.raw(), static_cast<std::size_t>(again.numel()) * 8), 0);
  EXPECT_TRUE(std::isnan(t.evaluate_sampled(data, 3, 7).loss));  // (a regression: no likelihood of a class)

  Trainer plain(regressor("mse"), options(1));
  try {
    plain.predict_sampled(data, 3, 7);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("draws nothing"), std::string::npos) << e.what();
  }
}

// A classifier with dropout: the averaged probabilities are probabilities (each row sums to 1),
// and evaluate_sampled's loss is the negative log of the averaged probability of the right class.
TEST(ModelTrainer, SampledEvaluationOfAClassifierAveragesProbabilities) {
  const Dataset data = make_moons(200, 0.2, 4);
  Sequential net;
  net.dense(16, "relu").dropout(0.3).dense(2);
  TrainerOptions o = options(10);
  Trainer t(net.to_model({DType::f32, Shape{2}}), o);
  t.fit(data);
  const Tensor p = t.predict_sampled(data, 8, 1).at("logits");
  double nll = 0;
  for (std::int64_t i = 0; i < data.size(); ++i) {
    EXPECT_NEAR(p.get(2 * i) + p.get(2 * i + 1), 1.0, 1e-6);
    nll -= std::log(p.get(2 * i + static_cast<std::int64_t>(data.labels.get(i))));
  }
  const Evaluation e = t.evaluate_sampled(data, 8, 1);
  EXPECT_NEAR(e.loss, nll / static_cast<double>(data.size()), 1e-9);
  EXPECT_GT(e.accuracy, 0.8);
}

}  // namespace
}  // namespace symgrad
