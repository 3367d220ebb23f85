#pragma once
/// @file
/// Experiment files (TOML): the data, the model, the initializer, the optimizer and its settings,
/// a schedule, regularizers, epochs, seed and output folder of one training run. Every key is
/// checked: an unknown key, a wrong type or a value out of range is a UsageError naming the file,
/// the line and the key. docs/experiments.md describes the format.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "symgrad/data/csv.hpp"
#include "symgrad/data/dataset.hpp"
#include "symgrad/plugin/hyperparams.hpp"
#include "symgrad/train/data_preparation.hpp"
#include "symgrad/train/model.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {

/// A plugin component and its settings, with where they were written.
struct ComponentSpec {
  std::string name;
  Settings settings;
  std::string where;  ///< "file:line"
};

struct DataSpec {
  /// fashion-mnist, idx, csv, npz, npy, moons, circles, spirals, blobs, xor, regression
  std::string set = "fashion-mnist";
  std::int64_t n = 1000;              ///< synthetic: examples (a test set of the same size is drawn too)
  double noise = 0.2;                 ///< synthetic: noise
  double factor = 0.5;                ///< circles: inner radius
  std::int64_t classes = 3;           ///< spirals, blobs: classes
  double validation = 0.1;            ///< fraction of the training data held out (0: none)
  std::int64_t limit = 0;             ///< train on the first `limit` training examples only (0: all)
  std::string dir = "/usr/share/datasets/fashion-mnist";  ///< fashion-mnist
  std::string images, labels, test_images, test_labels;    ///< idx
  std::string train_csv, test_csv;                         ///< csv
  std::int64_t targets = 0;  ///< csv: the last `targets` columns are real targets "y" (regression)
  /// csv: the columns (CsvOptions): the header row (absent: detected), the separator (0:
  /// detected), the label, real target columns by name or index, the features or the ignored ones.
  std::optional<bool> header;
  char separator = 0;
  std::optional<CsvColumn> label;
  std::vector<CsvColumn> target_columns, features, ignore;
  /// Files without a test file (csv, npz, npy, idx): this fraction of the training file, drawn
  /// with the seed, is the test data.
  double test = 0;
  /// none | standard | minmax: each feature shifted and scaled with the training split's
  /// statistics (mean and standard deviation, or minimum and range), the same at eval and predict.
  std::string normalize = "none";
  std::string train_npz, test_npz;                         ///< npz: named arrays ("x", "y", ...)
  std::string train_x, train_y, test_x, test_y;            ///< npy: one array a file
  double outliers = 0.1;  ///< regression: the fraction of training targets shifted by +8 (none in the test set)
  /// [data.relabel]: NAME = [c0, c1, ...]: an integer array NAME with NAME[i] = map[y[i]] (a coarse
  /// label derived from a fine one: a second task's target).
  std::map<std::string, std::vector<std::int32_t>> relabel;
};

struct LayerSpec {
  /// dense, activation, dropout, flatten, conv2d, max_pool, avg_pool, batch_norm; and in the graph
  /// form also layer_norm, reshape, add, multiply, concat, block
  std::string type;
  std::int64_t units = 0;    ///< dense
  std::string activation = "none";
  double p = 0;              ///< dropout
  std::int64_t filters = 0, kernel = 0, stride = 0, padding = 0;  ///< conv2d, pooling (stride 0: default)
  double momentum = 0.1, eps = 1e-5;                              ///< batch_norm (eps: layer_norm too)
  bool sync = false;  ///< batch_norm: statistics summed over the processes of data-parallel training
  std::int64_t axis = 0;  ///< concat: the example's axis (0: the first after the batch's)
  std::vector<std::int64_t> shape;  ///< reshape: the example's new shape
  std::string tied;  ///< dense: W is the transpose of this dense layer's (graph form)
};

/// Appends the layer `spec` describes to `m` (UsageError for bad settings).
void add_layer(Sequential& m, const LayerSpec& spec);
/// The layer `spec` describes, named `name` (UsageError for bad settings; not for a block).
std::shared_ptr<const Layer> make_layer(const std::string& name, const LayerSpec& spec);

/// A layer of [model]'s graph form ([[model.layer]] tables, in order), or of a block.
struct GraphLayerSpec {
  std::string name;
  /// Model inputs or layers above it (in a block: "in", the block's input, or its layers above);
  /// empty: the layer above (the first model input, or "in", for the first layer).
  std::vector<std::string> inputs;
  LayerSpec layer;
  std::string block;        ///< type = "block": the [model.blocks.NAME] it repeats
  std::int64_t repeat = 1;  ///< type = "block": how many times, one after the other
  std::string where;        ///< "file:line"
};

/// The model of an experiment: the list form (`layers`: a Sequential classifier of "x") or the
/// graph form (`graph`, `blocks`, `inputs`, `outputs`), and its [[loss]] tables.
struct ModelSpec {
  std::vector<LayerSpec> layers;
  std::vector<GraphLayerSpec> graph;
  /// [model.blocks.NAME]: layers = [...]; a block layer's k-th copy names its layers
  /// "<block layer><k>_<layer>" (res1_fc, res2_fc, ...).
  std::map<std::string, std::vector<GraphLayerSpec>> blocks;
  std::vector<std::string> inputs = {"x"};  ///< graph form: data arrays read as the model's inputs
  std::vector<std::string> outputs;         ///< graph form: layers whose values are outputs (default: the last)
  /// [[loss]] tables; none: softmax cross-entropy of the one output against the labels "y".
  std::vector<LossSpec> losses;
  std::vector<std::string> loss_where;

  /// The Model, its inputs' example types taken from the data set's arrays of those names (and
  /// floating ones in `dtype`).
  Model build(const Dataset& data, DType dtype) const;
  /// "dense(16, relu) -> dense(2)", or the graph form's layers and losses.
  std::string describe() const;
};

struct Experiment {
  std::string file, name;
  std::uint64_t seed = 0;
  std::int64_t epochs = 10, batch_size = 32;
  std::string backend = "onednn";
  std::string precision = "f32";  ///< f32 | bf16 (TrainerOptions::precision; bf16 needs onednn)
  std::string output;  ///< the run folder ("runs/<name>" by default)
  double clip_norm = 0, clip_value = 0;
  double bucket_cap_mb = 25;  ///< data-parallel: MiB of gradients summed in one call (TrainerOptions)
  double checkpoint_seconds = 10;  ///< a checkpoint at the end of an epoch at most this often (0: every epoch)
  std::string nan_policy = "raise";  ///< raise | stop | skip_step (TrainerOptions::nan_policy)
  DataSpec data;
  ModelSpec model_spec;
  ComponentSpec initializer{"he", {}, ""}, optimizer{"adam", {}, ""}, schedule;
  std::vector<ComponentSpec> regularizers;  ///< [[regularizer]] tables, in file order
  std::vector<ComponentSpec> strategies;    ///< [[strategy]] tables, in file order
  /// The experiment as it runs: the file with every override applied, as TOML (what the run
  /// folder's experiment.toml holds, so that the folder says what produced it).
  std::string effective;

  /// The components' settings as they run, every default filled in, by full key: "optimizer.lr",
  /// "initializer.name", "schedule.gamma", "regularizer.l2.lambda"; values as --set writes them.
  std::map<std::string, std::string> effective_settings() const;
  /// The experiment's model for its data (ExperimentData::train gives the inputs' types).
  Model model(const Dataset& train) const;
  TrainerOptions trainer_options() const;
};

/// The regularizers and strategies of an experiment, made from their plugins: the one place that
/// makes them (symgrad train, compare, eval and the examples use it).
struct ExperimentComponents {
  std::vector<std::pair<std::string, std::unique_ptr<Regularizer>>> regularizers;
  std::vector<std::pair<std::string, std::unique_ptr<Strategy>>> strategies;
  /// Adds them all to `trainer`, regularizers then strategies, each in file order under its name
  /// (the order in which their extension points run: docs/experiments.md).
  void attach(Trainer& trainer) const;
};
ExperimentComponents make_components(const Experiment& x);

/// Reads and checks an experiment; `overrides` replace keys first: "optimizer.lr=0.01", "epochs=3";
/// "optimizer=adam" (likewise initializer=, schedule=) replaces the table: that component with its
/// own defaults, none of the file's settings for another one;
/// "strategy=polyak" (or "regularizer=...") keeps only the table of that name (the file's, with
/// its settings, or a new one; "none": no table); "strategy.polyak.decay=0.99" sets a key in the
/// table of that name.
Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides = {});

/// A setting that differs between the experiment a run was started with and the one it resumes
/// with: its full key ("optimizer.lr") and both values as written ("(not set)" when absent).
struct SettingChange {
  std::string key, before, after;
};

/// Compares the experiment a run was started with (`recorded`: the run folder's experiment.toml,
/// read from `recorded_file`) with `now`, key by key as written. Settings that may change
/// mid-training (epochs, the optimizer's hyperparameters, the schedule, clip_norm, clip_value,
/// nan_policy, checkpoint_seconds, bucket_cap_mb and name) are returned (`output`, the folder that
/// holds both, is not compared); a difference in
/// any other (the model, the data and its split, the seed, batch_size, the backend, the optimizer,
/// initializer, regularizers, strategies and their settings) is a UsageError naming every such key.
std::vector<SettingChange> resume_changes(const std::string& recorded, const std::string& recorded_file,
                                          const Experiment& now);

/// The experiment's data: training, validation (held out of training) and test sets, and the
/// type of one example.
struct ExperimentData {
  Dataset train, validation, test;
  TensorType example;
  std::int64_t num_classes = 0;
  /// What was read and how it was prepared: saved in the run folder for predict.
  DataPreparation preparation;
  /// What the files held (rows, features, classes, the separator), for the start of a run; and
  /// what looks wrong in them (a column that counts the rows read as a feature).
  std::vector<std::string> summary, warnings;
};
ExperimentData load_experiment_data(const Experiment& e);

}  // namespace symgrad
