// The graph form of an experiment's [model] (named layers that read named values, merges, blocks
// repeated N times, several outputs) and its [[loss]] tables: what a file builds, how it trains,
// and every mistake reported with the file, the line and the layer.
#include <fstream>

#include <fmt/format.h>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/train/experiment.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {
namespace {

// A residual MLP on the moons: a stem, a block (two dense layers and a skip) repeated three times,
// a head.
const char* kResidual = R"(name = "residual"
seed = 2
epochs = 30
batch_size = 32

[data]
set = "moons"
n = 300
noise = 0.1
validation = 0.2

[model]
inputs = ["x"]
outputs = ["head"]

[model.blocks.residual]
layers = [
  { name = "fc1", type = "dense", units = 16, activation = "relu" },
  { name = "fc2", type = "dense", units = 16 },
  { name = "skip", type = "add", inputs = ["in", "fc2"] },
  { name = "out", type = "activation", activation = "relu" },
]

[[model.layer]]
name = "stem"
type = "dense"
units = 16
activation = "relu"

[[model.layer]]
name = "res"
type = "block"
block = "residual"
repeat = 3

[[model.layer]]
name = "head"
type = "dense"
units = 2

[[loss]]
output = "head"
name = "softmax_cross_entropy"

[optimizer]
name = "adam"
lr = 0.01
)";

std::string write(const testing::TempDir& dir, const std::string& text) {
  const std::string p = (dir.path / "graph.toml").string();
  std::ofstream(p) << text;
  return p;
}

// `text` with `from` replaced by `to` (once).
std::string edit(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return at == std::string::npos ? text : text.replace(at, from.size(), to);
}

std::string error_of(const std::string& text) {
  testing::TempDir dir;
  try {
    const Experiment x = load_experiment(write(dir, text));
    const ExperimentData data = load_experiment_data(x);
    Trainer t(x.model(data.train), x.trainer_options());
    t.prepare();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ExperimentGraph, ARepeatedResidualBlockBuildsAndTrains) {
  testing::TempDir dir;
  const Experiment x = load_experiment(write(dir, kResidual));
  const ExperimentData data = load_experiment_data(x);
  const Model m = x.model(data.train);
  const std::string summary = m.summary();
  // each copy of the block has its own layers, and its skip reads the copy's input
  EXPECT_NE(summary.find("res3_skip"), std::string::npos) << summary;
  EXPECT_NE(summary.find("res2_out"), std::string::npos) << summary;
  EXPECT_NE(summary.find("<- res1_out, res2_fc2"), std::string::npos) << summary;  // res2's skip: res1's output + fc2
  EXPECT_NE(summary.find("<- stem, res1_fc2"), std::string::npos) << summary;
  TrainerOptions o = x.trainer_options();
  o.output_dir = "";
  Trainer t(m, o);
  t.fit(data.train, &data.validation);
  EXPECT_GT(t.evaluate(data.test).accuracy, 0.95);
  EXPECT_EQ(t.store().get("res3_fc1/W").shape().to_string(), "[16, 16]");
}

TEST(ExperimentGraph, AnAutoencoderIsAnOutputWithAnMseLossAgainstItsInput) {
  const std::string text = edit(edit(edit(kResidual, "units = 2\n", "units = 2\n\n[[model.layer]]\nname = \"back\"\ntype = \"dense\"\nunits = 2\ninputs = [\"stem\"]\n"),
                                     "outputs = [\"head\"]", "outputs = [\"head\", \"back\"]"),
                                "[optimizer]", "[[loss]]\noutput = \"back\"\nname = \"huber\"\ndelta = 0.5\ntarget = \"x\"\nweight = 0.1\n\n[optimizer]");
  testing::TempDir dir;
  const Experiment x = load_experiment(write(dir, text));
  ASSERT_EQ(x.model_spec.losses.size(), 2u);
  EXPECT_EQ(x.model_spec.losses[1].loss, "huber");
  EXPECT_EQ(std::get<double>(x.model_spec.losses[1].settings.at("delta")), 0.5);
  const ExperimentData data = load_experiment_data(x);
  TrainerOptions o = x.trainer_options();
  o.output_dir = "";
  o.epochs = 3;
  Trainer t(x.model(data.train), o);
  t.fit(data.train);
  const Evaluation e = t.evaluate(data.test);
  EXPECT_TRUE(e.metrics.count("back/rmse"));
  EXPECT_NEAR(e.loss, e.metrics.at("head/loss") + 0.1 * e.metrics.at("back/loss"), 1e-5);
}

TEST(ExperimentGraph, MistakesNameTheFileLineAndLayer) {
  // a name that is not defined above: an unknown input, or a cycle / a layer listed later
  EXPECT_NE(error_of(edit(kResidual, "units = 2\n", "units = 2\ninputs = [\"stm\"]\n"))
                .find("graph.toml:36: layer 'head' reads 'stm', which is not a model input or a layer above it (a layer "
                      "reads only what is defined before it, so a model has no cycle) (did you mean 'stem'?)"),
            std::string::npos);
  EXPECT_NE(error_of(edit(kResidual, "activation = \"relu\"\n\n[[model.layer]]\nname = \"res\"",
                          "activation = \"relu\"\ninputs = [\"head\"]\n\n[[model.layer]]\nname = \"res\""))
                .find("layer 'stem' reads 'head', which is not a model input or a layer above it"),
            std::string::npos);
  // two layers of one name
  EXPECT_NE(error_of(edit(kResidual, "name = \"head\"", "name = \"stem\"")).find("a second layer (or input) named 'stem'"),
            std::string::npos);
  // shapes that do not fit: both layers and both shapes, at the merge's line
  EXPECT_NE(error_of(edit(kResidual, "{ name = \"fc2\", type = \"dense\", units = 16 }", "{ name = \"fc2\", type = \"dense\", units = 8 }"))
                .find("graph.toml:20: add layer 'res1_skip' needs inputs of one shape and type: 'stem' gives f32[?, 16], "
                      "'res1_fc2' gives f32[?, 8]"),
            std::string::npos);
  // an output without a loss; a loss on something that is not an output
  EXPECT_NE(error_of(edit(kResidual, "outputs = [\"head\"]", "outputs = [\"head\", \"stem\"]")).find("output 'stem' has no [[loss]]"),
            std::string::npos);
  EXPECT_NE(error_of(edit(kResidual, "output = \"head\"", "output = \"hed\"")).find("a loss on 'hed', which is not an output of the model (did you mean 'head'?)"),
            std::string::npos);
  // an unknown block, layer type or loss; a bad loss setting
  EXPECT_NE(error_of(edit(kResidual, "block = \"residual\"", "block = \"resid\"")).find("repeats block 'resid', which [model.blocks] does not define (did you mean 'residual'?)"),
            std::string::npos);
  EXPECT_NE(error_of(edit(kResidual, "type = \"add\"", "type = \"sum\"")).find("unknown layer type 'sum'"), std::string::npos);
  EXPECT_NE(error_of(edit(kResidual, "name = \"softmax_cross_entropy\"", "name = \"mse2\"")).find("unknown loss 'mse2' (did you mean 'mse'?)"),
            std::string::npos);
  // an input nothing reads
  EXPECT_NE(error_of(edit(kResidual, "inputs = [\"x\"]", "inputs = [\"x\", \"y\"]")).find("the model's input 'y' is read by no output"),
            std::string::npos);
}

}  // namespace
}  // namespace symgrad

namespace symgrad {
namespace {

// experiments/deep_plain.toml and deep_residual.toml at small scale (4000 examples, 2 epochs):
// the skip connections make the 22-layer net train faster (the documented effect, measured on the
// whole set in deep_plain.toml's comment).
TEST(ExperimentGraph, SkipConnectionsTrainTheDeepNetFaster) {
  double loss[2];
  int k = 0;
  for (const char* name : {"deep_plain", "deep_residual"}) {
    const Experiment x = load_experiment(std::string(SYMGRAD_EXPERIMENTS_DIR) + "/" + name + ".toml",
                                         {"epochs=2", "data.limit=4000", "output="});
    const ExperimentData data = load_experiment_data(x);
    TrainerOptions o = x.trainer_options();
    o.output_dir.clear();
    Trainer t(x.model(data.train), o);
    loss[k++] = t.fit(data.train).back().train_loss;
  }
  EXPECT_LT(loss[1], 0.75 * loss[0]) << "plain " << loss[0] << ", residual " << loss[1];
}

}  // namespace
}  // namespace symgrad

namespace symgrad {
namespace {

// experiments/regression_outliers.toml at small scale: Huber stays close to the true function
// where MSE follows the outliers (the comment's figures on the whole run).
TEST(ExperimentGraph, HuberAgainstMseOnTheShippedRegression) {
  double rmse[2];
  int k = 0;
  for (const char* loss : {"mse", "huber"}) {
    const Experiment x = load_experiment(std::string(SYMGRAD_EXPERIMENTS_DIR) + "/regression_outliers.toml",
                                         {"epochs=30", "output=", std::string("loss.y.name=") + loss});
    const ExperimentData data = load_experiment_data(x);
    EXPECT_FALSE(data.train.labels.defined());  // real targets "y", no classes
    Trainer t(x.model(data.train), x.trainer_options());
    t.fit(data.train);
    const Evaluation e = t.evaluate(data.test);
    EXPECT_EQ(e.metric, "rmse");
    rmse[k++] = e.accuracy;
  }
  EXPECT_LT(rmse[1], 0.5 * rmse[0]) << "mse " << rmse[0] << ", huber " << rmse[1];
}

// experiments/fashion_multitask.toml: the relabelled coarse target feeds the second head, and both
// outputs' figures are reported.
TEST(ExperimentGraph, TheMultitaskExperimentTrainsBothHeads) {
  const Experiment x = load_experiment(std::string(SYMGRAD_EXPERIMENTS_DIR) + "/fashion_multitask.toml",
                                       {"epochs=1", "data.limit=2000", "output="});
  const ExperimentData data = load_experiment_data(x);
  const Tensor& coarse = data.test.array("coarse");
  for (std::int64_t i = 0; i < 50; ++i) {  // clothing 0, footwear 1 (5, 7, 9), bags 2 (8)
    const int y = static_cast<int>(data.test.labels.get(i));
    EXPECT_EQ(coarse.get(i), y == 8 ? 2 : (y == 5 || y == 7 || y == 9) ? 1 : 0);
  }
  Trainer t(x.model(data.train), x.trainer_options());
  const auto records = t.fit(data.train, &data.validation);
  EXPECT_GT(records.back().val_metrics.at("coarse/accuracy"), 0.8);
  EXPECT_GT(records.back().val_metrics.at("fine/accuracy"), 0.5);
}

}  // namespace
}  // namespace symgrad

namespace symgrad {
namespace {

// Data from NumPy (.npz of named arrays) and a derived label: read by an experiment file, with
// the mistakes named.
TEST(ExperimentGraph, NpzDataAndRelabelling) {
  const std::string npz = std::string(SYMGRAD_NPY_DIR) + "/deflated.npz";
  const std::string text = fmt::format(R"(name = "npz"
epochs = 2

[data]
set = "npz"
train_npz = "{0}"
test_npz = "{0}"
validation = 0

[data.relabel]
even = [1, 0, 1]

[model]
layers = [{{ type = "dense", units = 3 }}]
)",
                                       npz);
  testing::TempDir dir;
  const Experiment x = load_experiment(write(dir, text));
  const ExperimentData data = load_experiment_data(x);
  EXPECT_EQ(data.train.size(), 3);
  EXPECT_EQ(data.train.array("even").to_vector(), (std::vector<double>{1, 1, 0}));  // y = 0, 2, 1
  EXPECT_EQ(data.train.array("target").type().to_string(), "f32[3, 1]");
  TrainerOptions o = x.trainer_options();
  o.output_dir.clear();
  Trainer t(x.model(data.train), o);
  t.fit(data.train);
  EXPECT_NE(error_of(edit(text, "even = [1, 0, 1]", "even = [1, 0]")).find("example 1 has label 2, which relabel 'even' does not map"),
            std::string::npos);
  EXPECT_NE(error_of(edit(text, "even = [1, 0, 1]", "even = [1, -1, 0]")).find("relabel 'even' must be a list of classes"),
            std::string::npos);
  EXPECT_NE(error_of(edit(text, npz + "\"\ntest", npz + "x\"\ntest")).find("cannot open '" + npz + "x'"), std::string::npos);
}

}  // namespace
}  // namespace symgrad

namespace symgrad {
namespace {

// experiments/fashion_tied_autoencoder.toml: the decoder has no weights of its own, the encoder's
// W (used twice) learns; a tie to something that is not a dense layer above is refused.
TEST(ExperimentGraph, ATiedDecoderUsesTheEncodersWeights) {
  const std::string file = std::string(SYMGRAD_EXPERIMENTS_DIR) + "/fashion_tied_autoencoder.toml";
  const Experiment x = load_experiment(file, {"epochs=1", "data.limit=500", "output="});
  const ExperimentData data = load_experiment_data(x);
  Trainer t(x.model(data.train), x.trainer_options());
  const double before = t.evaluate(data.train).loss;
  t.fit(data.train);
  EXPECT_TRUE(t.store().has("enc/W") && t.store().has("dec/b"));
  EXPECT_FALSE(t.store().has("dec/W"));
  EXPECT_LT(t.evaluate(data.train).loss, before);
  std::ifstream in(file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(error_of(edit(text, "\ntied = \"enc\"", "\ntied = \"flat\"")).find("layer 'dec' is tied to 'flat', which is not a dense layer above it"),
            std::string::npos);
}

}  // namespace
}  // namespace symgrad
