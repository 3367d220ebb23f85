// Experiment files: read, overridden with --set style keys, and every mistake reported with the
// file, the line and the key.

#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/runtime/plan.hpp"
#include "symgrad/train/experiment.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {
namespace {

const char* kGood = R"(name = "tiny"
seed = 4
epochs = 3
batch_size = 16

[data]
set = "xor"
n = 100
noise = 0.05

[model]
layers = [
  { type = "dense", units = 8, activation = "tanh" },
  { type = "dropout", p = 0.1 },
  { type = "dense", units = 2 },
]

[optimizer]
name = "sgd"
lr = 0.1
momentum = 0.9

[schedule]
name = "step"
step_size = 2

[[regularizer]]
name = "early_stopping"
patience = 2
)";

std::string write(const testing::TempDir& dir, const std::string& text) {
  const std::string p = (dir.path / "exp.toml").string();
  std::ofstream(p) << text;
  return p;
}

std::string error_of(const std::string& text, const std::vector<std::string>& sets = {}) {
  testing::TempDir dir;
  try {
    load_experiment(write(dir, text), sets);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  s.replace(s.find(from), from.size(), to);
  return s;
}

TEST(Experiment, ReadsEverySection) {
  testing::TempDir dir;
  const Experiment x = load_experiment(write(dir, kGood));
  EXPECT_EQ(x.name, "tiny");
  EXPECT_EQ(x.seed, 4u);
  EXPECT_EQ(x.epochs, 3);
  EXPECT_EQ(x.data.set, "xor");
  EXPECT_EQ(x.model_spec.describe(), "dense(8, tanh) -> dropout(0.1) -> dense(2)");
  EXPECT_EQ(x.optimizer.name, "sgd");
  EXPECT_EQ(std::get<double>(x.optimizer.settings.at("momentum")), 0.9);
  EXPECT_EQ(x.trainer_options().schedule, "step");
  ASSERT_EQ(x.regularizers.size(), 1u);
  EXPECT_EQ(x.regularizers[0].name, "early_stopping");
  EXPECT_EQ(x.output, "runs/tiny");
  const ExperimentData d = load_experiment_data(x);
  EXPECT_EQ(d.train.size() + d.validation.size(), 100);
  EXPECT_EQ(d.example, (TensorType{DType::f32, Shape{2}}));
}

TEST(Experiment, OverridesReplaceKeys) {
  testing::TempDir dir;
  const Experiment x = load_experiment(write(dir, kGood), {"optimizer.lr=0.5", "epochs=7", "data.set=moons"});
  EXPECT_EQ(std::get<double>(x.optimizer.settings.at("lr")), 0.5);
  EXPECT_EQ(x.epochs, 7);
  EXPECT_EQ(x.data.set, "moons");
}

TEST(Experiment, MistakesNameFileLineAndKey) {
  EXPECT_NE(error_of(replace(kGood, "seed = 4", "sede = 4")).find("exp.toml:2: unknown key 'sede' (did you mean 'seed'?)"),
            std::string::npos)
      << error_of(replace(kGood, "seed = 4", "sede = 4"));
  EXPECT_NE(error_of(replace(kGood, "epochs = 3", "epochs = \"three\"")).find("exp.toml:3: 'epochs' must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of(replace(kGood, "batch_size = 16", "batch_size = 0")).find("exp.toml:4: 'batch_size' = 0 is out of range"),
            std::string::npos);
  // a plugin's hyperparameters are checked against its schema, at the line of its name
  const std::string lr = error_of(replace(kGood, "lr = 0.1", "lr = -0.1"));
  EXPECT_NE(lr.find("exp.toml:20: optimizer 'sgd': 'lr' = -0.1 is out of range: allowed > 0"), std::string::npos) << lr;
  const std::string key = error_of(replace(kGood, "momentum = 0.9", "momentun = 0.9"));
  EXPECT_NE(key.find("unknown hyperparameter 'momentun' (did you mean 'momentum'?)"), std::string::npos) << key;
  EXPECT_NE(error_of(replace(kGood, "type = \"dropout\", p = 0.1", "type = \"dropout\", p = 1.5")).find("exp.toml:14:"),
            std::string::npos);
  // the course's keep_prob: p = 1 - keep_prob, not both
  EXPECT_NE(error_of(replace(kGood, "type = \"dropout\", p = 0.1", "type = \"dropout\", p = 0.1, keep_prob = 0.9"))
                .find("exp.toml:14: keep_prob (the course's: p = 1 - keep_prob) is in (0, 1], and not given with p"),
            std::string::npos);
  {
    testing::TempDir dir;
    const Experiment kept = load_experiment(write(dir, replace(kGood, "type = \"dropout\", p = 0.1", "type = \"dropout\", keep_prob = 0.75")));
    EXPECT_EQ(kept.model_spec.layers[1].p, 0.25);
  }
  EXPECT_NE(error_of(replace(kGood, "\"dense\", units = 2", "\"dens\", units = 2")).find("unknown layer type 'dens'"),
            std::string::npos);
  EXPECT_NE(error_of(replace(kGood, "set = \"xor\"", "set = \"mnist\"")).find("unknown data set 'mnist'"), std::string::npos);
  EXPECT_NE(error_of(replace(kGood, "name = \"sgd\"", "name = \"sgdd\"")).find("unknown optimizer 'sgdd'"), std::string::npos);
  EXPECT_NE(error_of("epochs = [").find("exp.toml:1:"), std::string::npos);  // TOML syntax
  EXPECT_NE(error_of(kGood, {"optimizer.lr=-1"}).find("(--set)"), std::string::npos) << error_of(kGood, {"optimizer.lr=-1"});
  const std::string sync = error_of(replace(kGood, "{ type = \"dropout\", p = 0.1 }", "{ type = \"batch_norm\", sync = 1 }"));
  EXPECT_NE(sync.find("exp.toml:14: 'sync' in [model.layers] must be true or false"), std::string::npos) << sync;
  EXPECT_NE(error_of(kGood, {"bucket_cap_mb=0"}).find("bucket_cap_mb must be > 0"), std::string::npos);
  const std::string precision = error_of(replace(kGood, "batch_size = 16", "batch_size = 16\nprecision = \"fp16\""));
  EXPECT_NE(precision.find("exp.toml:5: precision 'fp16': f32 or bf16"), std::string::npos) << precision;
  const std::string reference = error_of(kGood, {"precision=bf16", "backend=reference"});
  EXPECT_NE(reference.find("precision 'bf16' needs backend 'onednn'"), std::string::npos) << reference;
}

// precision = "bf16" reaches the trainer and the plans it compiles: the same run in bf16 learns as
// well, with other bits (its matmuls rounded their operands).
TEST(Experiment, PrecisionReachesTheTrainer) {
  if (!native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU: bf16 plans compute in f32";
  testing::TempDir dir;
  const std::string file = write(dir, kGood);
  EXPECT_EQ(load_experiment(file).trainer_options().precision, Precision::f32);
  double loss[2];
  for (int bf16 = 0; bf16 < 2; ++bf16) {
    const Experiment x = load_experiment(file, {"output=", bf16 ? "precision=bf16" : "precision=f32"});
    TrainerOptions o = x.trainer_options();
    EXPECT_EQ(o.precision, bf16 ? Precision::bf16 : Precision::f32);
    const ExperimentData data = load_experiment_data(x);
    Trainer trainer(x.model(data.train), o);
    const auto records = trainer.fit(data.train);
    loss[bf16] = records.back().train_loss;
  }
  EXPECT_NE(loss[0], loss[1]);
  EXPECT_NEAR(loss[1], loss[0], 0.05 * loss[0]);
}

}  // namespace
}  // namespace symgrad

namespace symgrad {
namespace {

// Every experiment shipped in experiments/ reads and checks (plugins, settings, layers).
TEST(Experiment, ShippedExperimentsAreValid) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(SYMGRAD_EXPERIMENTS_DIR)) {
    if (e.path().extension() != ".toml") continue;
    SCOPED_TRACE(e.path().string());
    const Experiment x = load_experiment(e.path().string());
    EXPECT_FALSE(x.model_spec.describe().empty());
    ++n;
  }
  EXPECT_GE(n, 12u);
}

// The experiments on synthetic data run (one epoch each, with their components), as the command
// line runs them: every optimizer, regularizer and strategy they name works in a real run.
TEST(Experiment, ShippedSyntheticExperimentsRun) {
  std::size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(SYMGRAD_EXPERIMENTS_DIR)) {
    if (e.path().extension() != ".toml") continue;
    const Experiment x = load_experiment(e.path().string(), {"epochs=1", "output="});
    if (x.data.set == "fashion-mnist") continue;  // the data set's own runs take seconds
    SCOPED_TRACE(e.path().string());
    const ExperimentData data = load_experiment_data(x);
    TrainerOptions o = x.trainer_options();
    o.output_dir.clear();
    Trainer trainer(x.model(data.train), o);
    const ExperimentComponents components = make_components(x);
    components.attach(trainer);
    const auto records = trainer.fit(data.train, data.validation.size() > 0 ? &data.validation : nullptr);
    ASSERT_EQ(records.size(), 1u);
    EXPECT_TRUE(std::isfinite(records[0].train_loss));
    EXPECT_GT(trainer.evaluate(data.test).accuracy, 0.0);
    ++n;
  }
  EXPECT_GE(n, 20u);
}

}  // namespace
}  // namespace symgrad

namespace symgrad {
namespace {

const char* kStrategies = R"(epochs = 1
[data]
set = "xor"
[model]
layers = [{ type = "dense", units = 2 }]
[[strategy]]
name = "polyak"
mode = "ema"
decay = 0.9
[[strategy]]
name = "batch_norm"
)";

// [[strategy]] tables, checked against their plugins' schemas, and the --set forms that choose them.
TEST(Experiment, StrategyTables) {
  testing::TempDir dir;
  const std::string file = write(dir, kStrategies);
  const Experiment x = load_experiment(file);
  ASSERT_EQ(x.strategies.size(), 2u);
  EXPECT_EQ(x.strategies[0].name, "polyak");
  EXPECT_EQ(std::get<double>(x.strategies[0].settings.at("decay")), 0.9);
  // a key of one table by name
  EXPECT_EQ(std::get<double>(load_experiment(file, {"strategy.polyak.decay=0.5"}).strategies[0].settings.at("decay")), 0.5);
  // strategy=NAME keeps only that table, with the file's settings; none keeps none
  const Experiment only = load_experiment(file, {"strategy=polyak"});
  ASSERT_EQ(only.strategies.size(), 1u);
  EXPECT_EQ(std::get<std::string>(only.strategies[0].settings.at("mode")), "ema");
  EXPECT_TRUE(load_experiment(file, {"strategy=none"}).strategies.empty());
  const Experiment fresh = load_experiment(file, {"strategy=coordinate_descent"});
  ASSERT_EQ(fresh.strategies.size(), 1u);
  EXPECT_TRUE(fresh.strategies[0].settings.empty());
  // mistakes, at the line of the key, with the plugin's name
  const std::string bad = error_of(replace(kStrategies, "decay = 0.9", "decay = 1.5"));
  EXPECT_NE(bad.find("exp.toml:9: strategy 'polyak': 'decay' = 1.5 is out of range"), std::string::npos) << bad;
  EXPECT_NE(error_of(replace(kStrategies, "name = \"batch_norm\"", "name = \"batchnorm\"")).find("unknown strategy 'batchnorm'"),
            std::string::npos);
  EXPECT_NE(error_of(kStrategies, {"strategy.ema.decay=0.5"}).find("no [[strategy]] named 'ema'"), std::string::npos);
  // the components are made in file order under their names
  const ExperimentComponents c = make_components(x);
  ASSERT_EQ(c.strategies.size(), 2u);
  EXPECT_EQ(c.strategies[1].first, "batch_norm");
}

}  // namespace
}  // namespace symgrad
