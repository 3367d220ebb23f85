#pragma once
// Running an experiment for the command line: training with progress and Ctrl-C, evaluation on
// the test set, and the run folder's files (variables, experiment, plots). Shared by train and
// compare.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "plot/boundary.hpp"
#include "symgrad/train/experiment.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad::cli {

struct RunOutcome {
  std::vector<EpochRecord> records;
  Evaluation test;
  /// Early stopping put back the variables of this earlier epoch (0: none): the model evaluated on
  /// the test set is that epoch's, and so are `train` and `validation`, evaluated again on it (the
  /// last record's figures are of the last epoch's variables).
  std::int64_t restored_epoch = 0;
  Evaluation train, validation;
  bool stopped_early = false;  // a callback (early stopping) ended training before its last epoch
  bool interrupted = false;  // Ctrl-C: a checkpoint was written
  std::int64_t epochs_done = 0;
  std::string dir;
  double seconds = 0;
  /// A classifier of 2-D examples: its decision boundary (the run folder's boundary.svg).
  std::optional<Boundary> boundary;
};

/// Trains `x` (continuing from `dir`/checkpoint.bin when `resume`), evaluates it on the test set
/// and writes the run folder. `verbose`: progress per epoch; else one line at the end.
/// `comm`: data-parallel over its processes (mpirun); rank 0 alone prints and writes the folder.
/// `share`: one of several runs training at once in this process (compare --jobs), with its share
/// of the threads (see choose_threads).
struct ThreadShare;
RunOutcome run_experiment(const Experiment& x, bool resume, bool verbose, Communicator* comm = nullptr,
                          const ThreadShare* share = nullptr);

/// The folder a new run writes (docs/experiments.md, "Run folders"): `dir` when it is free (missing
/// or empty: run_folder_is_free); otherwise, when `exact` (a folder named with --output), a
/// UsageError naming it, and else the first free one of `dir`-2, `dir`-3, ... A new run never
/// mixes its files with an earlier run's.
std::string new_run_folder(const std::string& dir, bool exact);

/// A finished run folder (experiment.toml and variables.bin, as symgrad train leaves them): its
/// experiment, with the folder as its output (UsageError naming the folder when it is not one).
Experiment load_finished_run(const std::string& run);

/// The main metric of a run folder's model, from its metrics-epochs.csv: "accuracy" (a
/// classifier's first output) or "rmse" (a regression's).
std::string run_metric(const std::string& epochs_csv);

/// The decision boundary of `model` when it classifies 2-D examples (the features of `train` are
/// [N, 2] with labels, and its first output is a classifier): its class over a 101 x 101 grid
/// around the training examples, which it carries (at most 2000). nullopt for other models.
std::optional<Boundary> boundary_of(Trainer& model, const Dataset& train, const std::string& label);

/// The thread count of a run and why: SYMGRAD_NUM_THREADS when set; for --resume the count the
/// run recorded in its run.toml (the machine's cores for a run that recorded none); else one
/// thread when a training step is small (3 x batch x Model::multiply_adds_per_example() below 4M
/// multiply-adds), every core otherwise. A function of the work, never of the machine's load.
/// With a `share` (one of several runs at once): one thread for a small step (unless
/// SYMGRAD_NUM_THREADS is set), else the share. Sets it (set_num_threads, for the calling thread)
/// before any plan is compiled.
struct ThreadShare {
  int threads = 1;
  std::string why;  // "compare --jobs 2: 1 of 2 threads"
};
struct RunThreads {
  int count = 1;
  std::string why;
  double step_multiply_adds = 0;
};
RunThreads choose_threads(const Experiment& x, const Model& model, const std::string& folder, bool resume,
                          const ThreadShare* share = nullptr);

/// A finished run folder's model with its variables.bin loaded, ready to evaluate and predict.
struct LoadedRun {
  Experiment experiment;
  ExperimentData data;
  ExperimentComponents components;
  std::unique_ptr<Trainer> trainer;
};
LoadedRun load_run_model(const std::string& run);

/// The columns "<extension>/<value>" of a metrics-steps.csv that the run's metrics-epochs.csv
/// lacks (values an extension reports from a step's callbacks only, every K steps), by extension.
std::map<std::string, std::vector<std::string>> step_reports(const std::string& steps_csv, const std::string& epochs_csv);

/// The plots of one run folder: loss.svg and <metric>.svg (accuracy.svg, rmse.svg), loss-steps.svg
/// and lr.svg, reported.svg (the extensions' epoch values) and <extension>.svg for each
/// extension's step values (step_reports); returns their paths.
std::vector<std::string> draw_run_plots(const std::string& dir, const std::string& name);

}  // namespace symgrad::cli
