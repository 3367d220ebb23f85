// symgrad train EXPERIMENT.toml [--set key=value ...]: trains the experiment's model on its data,
// with a progress bar on a terminal (plain lines otherwise), evaluates it on the test set, and
// leaves in the run folder the metrics (CSV, JSON lines), the final variables, a copy of the
// experiment and the loss and accuracy curves.

#include <filesystem>
#include <iostream>
#include <memory>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "../command.hpp"
#include "../run.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/mpi/mpi_communicator.hpp"
#include "symgrad/train/experiment.hpp"

namespace symgrad::cli {

namespace po = boost::program_options;

int train_command(const std::vector<std::string>& args) {
  po::options_description opts(
      "usage: symgrad train EXPERIMENT.toml [--set key=value ...] [--output DIR] [--resume DIR]\n"
      "Trains the experiment (docs/experiments.md): progress per epoch, then the test accuracy. The run\n"
      "folder (the experiment's output, runs/<name> by default, or runs/<name>-2, -3, ... when it holds an earlier\n"
      "run; --output DIR must be new or empty) receives metrics-epochs.csv/.jsonl,\n"
      "metrics-steps.csv/.jsonl, variables.bin, experiment.toml, data.toml (class names, normalization),\n"
      "loss.svg, accuracy.svg, loss-steps.svg, lr.svg (boundary.svg for 2-D data), and checkpoint.bin\n"
      "after every epoch. Ctrl-C (SIGINT) or SIGTERM writes a checkpoint after the step and exits with\n"
      "status 130; --resume DIR continues from DIR's checkpoint, bitwise as if the run had never\n"
      "stopped. Under mpirun -np N: data-parallel over N processes (docs/distributed.md). Options");
  std::vector<std::string> sets;
  std::string output, resume;
  double comm_timeout = 1800;
  opts.add_options()("help,h", "this help")("set", po::value(&sets), "override a key, e.g. optimizer.lr=0.01 (repeatable)")(
      "output", po::value(&output), "the run folder (overrides the experiment's)")(
      "resume", po::value(&resume), "continue the run in this folder from its checkpoint")(
      "comm-timeout", po::value(&comm_timeout)->default_value(1800),
      "under mpirun: seconds a rank waits for the others in a sum or broadcast before it ends the job as hung");
  std::string file;
  po::variables_map vm;
  if (parse_with_positional(args, opts, vm, "experiment", file, "train")) return kOk;
  if (!(comm_timeout > 0)) {  // checked in one process too: the same command may run under mpirun later
    throw UsageError(fmt::format("--comm-timeout must be > 0 seconds, got {}", comm_timeout));
  }
  if (!resume.empty()) {
    if (!output.empty() && output != resume) throw UsageError("--resume DIR writes to DIR: give no other --output");
    if (!std::filesystem::exists(std::filesystem::path(resume) / "checkpoint.bin")) {
      throw UsageError(fmt::format("--resume '{}': the folder has no checkpoint.bin to continue from (a run folder of "
                                   "symgrad train, interrupted or finished)",
                                   resume));
    }
    output = resume;
  }
  if (!output.empty()) {
    if (resume.empty()) new_run_folder(output, true);  // refuses a folder holding files
    sets.push_back("output=" + output);
  }
  Experiment x = load_experiment(file, sets);
  if (output.empty()) {  // the experiment's folder, or the next free one when it holds an earlier run
    const std::string folder = new_run_folder(x.output, false);
    if (folder != x.output) {
      sets.push_back("output=" + folder);
      x = load_experiment(file, sets);
    }
  }
  // Started by mpirun as one of several processes: data-parallel (docs/distributed.md). A rank that
  // fails ends the job, so that the others do not wait for it.
  std::unique_ptr<MpiCommunicator> mpi;
  if (launched_by_mpirun()) mpi = std::make_unique<MpiCommunicator>(std::chrono::duration<double>(comm_timeout));
  RunOutcome out;
  try {
    out = run_experiment(x, !resume.empty(), true, mpi.get());
  } catch (const std::exception& e) {
    if (!mpi) throw;
    fmt::print(stderr, "symgrad train ({}): {}\n", mpi->describe(), e.what());
    std::fflush(stderr);
    mpi->abort(dynamic_cast<const UsageError*>(&e) != nullptr ? 2 : 1);
  }
  if (out.interrupted) return 130;
  if (mpi && mpi->rank() != 0) return kOk;
  const auto& records = out.records;
  const auto& test = out.test;
  const std::filesystem::path dir = out.dir;
  const std::string& metric = test.metric;  // accuracy, or rmse for a regression
  const std::string plots =
      records.empty() ? ""
                      : fmt::format("; plots: {}, {}{}", (dir / "loss.svg").string(), (dir / (metric + ".svg")).string(),
                                    out.boundary ? fmt::format(", {}", (dir / "boundary.svg").string()) : std::string());
  if (out.restored_epoch > 0) {
    fmt::print("\nearly stopping: {} epoch {}, restored epoch {}: the figures below are of epoch {}'s weights\n",
               out.stopped_early ? "stopped at" : "trained to", records.back().epoch, out.restored_epoch,
               out.restored_epoch);
  }
  fmt::print("\n{:12} {:>10} {:>10}\n", "", "loss", metric);
  if (out.restored_epoch > 0) {
    fmt::print("{:12} {:>10.4f} {:>10.4f}\n", "train", out.train.loss, out.train.accuracy);
    fmt::print("{:12} {:>10.4f} {:>10.4f}\n", "validation", out.validation.loss, out.validation.accuracy);
  } else if (!records.empty()) {
    fmt::print("{:12} {:>10.4f} {:>10.4f}\n", "train", records.back().train_loss, records.back().train_accuracy);
    fmt::print("{:12} {:>10.4f} {:>10.4f}\n", "validation", records.back().val_loss, records.back().val_accuracy);
  }
  fmt::print("{:12} {:>10.4f} {:>10.4f}\n", "test", test.loss, test.accuracy);
  if (test.metrics.size() > 2 || metric != "accuracy") {  // several outputs, or a regression: each output's figures
    for (const auto& [name, value] : test.metrics) fmt::print("  test {:<28} {:>10.4f}\n", name, value);
  }
  const std::string figure = metric == "accuracy" ? fmt::format("test accuracy {:.2f}%", 100 * test.accuracy)
                                                  : fmt::format("test {} {:.4g}", metric, test.accuracy);
  const auto in_this_run = static_cast<std::int64_t>(records.size());
  const std::string epochs = in_this_run == out.epochs_done
                                 ? fmt::format("{} epochs", out.epochs_done)
                                 : fmt::format("epoch {} ({} in this run)", out.epochs_done, in_this_run);
  fmt::print("\n{} after {}; run folder {}{}\n", figure, epochs, dir.string(), plots);
  return kOk;
}

}  // namespace symgrad::cli
