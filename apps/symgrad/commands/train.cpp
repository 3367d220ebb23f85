// symgrad train EXPERIMENT.toml [--set key=value ...]: trains the experiment's model on its data,
// with a progress bar on a terminal (plain lines otherwise), evaluates it on the test set, and
// leaves in the run folder the metrics (CSV, JSON lines), the final variables, a copy of the
// experiment and the loss and accuracy curves.

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "../command.hpp"
#include "../plot/curves.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/io/variables_file.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/experiment.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad::cli {

namespace po = boost::program_options;

namespace {

// Progress at the trainer's named points: a bar redrawn on a terminal, one line per epoch
// otherwise.
class Progress final : public Strategy {
 public:
  Progress(std::int64_t epochs, std::int64_t steps_per_epoch, std::int64_t batch)
      : epochs_(epochs), steps_(steps_per_epoch), batch_(batch), tty_(::isatty(STDOUT_FILENO) != 0) {}

  void on_epoch_begin(TrainEvent& e) override {
    start_ = std::chrono::steady_clock::now();
    step_in_epoch_ = 0;
    epoch_ = e.epoch;
  }
  void on_step_end(TrainEvent& e) override {
    ++step_in_epoch_;
    if (!tty_ || (step_in_epoch_ % 10 != 0 && step_in_epoch_ != steps_)) return;
    const double s = seconds();
    const double rate = static_cast<double>(step_in_epoch_ * batch_) / std::max(s, 1e-9);
    const double eta = s / static_cast<double>(step_in_epoch_) * static_cast<double>(steps_ - step_in_epoch_);
    const int width = 30, filled = static_cast<int>(width * step_in_epoch_ / std::max<std::int64_t>(steps_, 1));
    fmt::print("\repoch {}/{} [{}{}] {}/{} loss {:.4f}  {:.0f} samples/s  ETA {:.1f} s   ", epoch_, epochs_,
               std::string(static_cast<std::size_t>(filled), '='), std::string(static_cast<std::size_t>(width - filled), ' '),
               step_in_epoch_, steps_, e.metrics["loss"], rate, eta);
    std::fflush(stdout);
  }
  void on_epoch_end(TrainEvent& e) override {
    const double s = seconds();
    const auto get = [&](const char* k) { return e.metrics.count(k) ? e.metrics.at(k) : 0.0; };
    fmt::print("{}epoch {}/{}  loss {:.4f}  accuracy {:.4f}", tty_ ? "\r" : "", e.epoch, epochs_, get("loss"), get("accuracy"));
    if (e.metrics.count("val_loss")) fmt::print("  val_loss {:.4f}  val_accuracy {:.4f}", get("val_loss"), get("val_accuracy"));
    fmt::print("  lr {:.3g}  {:.0f} samples/s  {:.1f} s{}\n", get("lr"),
               static_cast<double>(steps_ * batch_) / std::max(s, 1e-9), s, tty_ ? "          " : "");
    std::fflush(stdout);
  }

 private:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  std::int64_t epochs_, steps_, batch_, step_in_epoch_ = 0, epoch_ = 0;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
};

// Ctrl-C: the current step ends, a checkpoint is written, the command exits.
std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int) { interrupted = true; }

class StopOnInterrupt final : public Strategy {
 public:
  void on_step_end(TrainEvent& e) override {
    if (interrupted) e.stop = true;
  }
};

}  // namespace

int train_command(const std::vector<std::string>& args) {
  po::options_description opts(
      "usage: symgrad train EXPERIMENT.toml [--set key=value ...] [--output DIR] [--resume DIR]\n"
      "Trains the experiment (docs/experiments.md): progress per epoch, then the test accuracy. The run\n"
      "folder (the experiment's output, runs/<name> by default) receives metrics-epochs.csv/.jsonl,\n"
      "metrics-steps.csv/.jsonl, variables.bin, experiment.toml, loss.svg, accuracy.svg, and checkpoint.bin\n"
      "after every epoch. Ctrl-C writes a checkpoint and exits with status 130; --resume DIR continues\n"
      "from DIR's checkpoint, bitwise as if the run had never stopped. Options");
  std::vector<std::string> sets;
  std::string output, resume;
  opts.add_options()("help,h", "this help")("set", po::value(&sets), "override a key, e.g. optimizer.lr=0.01 (repeatable)")(
      "output", po::value(&output), "the run folder (overrides the experiment's)")(
      "resume", po::value(&resume), "continue the run in this folder from its checkpoint");
  po::options_description hidden;
  std::string file;
  hidden.add_options()("experiment", po::value(&file));
  po::positional_options_description pos;
  pos.add("experiment", 1);
  po::variables_map vm;
  if (parse_arguments(args, opts, vm, &hidden, &pos)) return kOk;
  if (file.empty()) throw UsageError("give an experiment file (symgrad train --help)");
  if (!resume.empty()) {
    if (!output.empty() && output != resume) throw UsageError("--resume DIR writes to DIR: give no other --output");
    output = resume;
  }
  if (!output.empty()) sets.push_back("output=" + output);
  const Experiment x = load_experiment(file, sets);
  const ExperimentData data = load_experiment_data(x);
  const TrainerOptions options = x.trainer_options();
  fmt::print("{}: {} -> {}, {} training / {} validation / {} test examples\n", x.name, x.model().to_string(),
             options.output_dir, data.train.size(), data.validation.size(), data.test.size());
  fmt::print("optimizer {}, initializer {}, {} epochs of batches of {}, seed {}, {} backend\n", x.optimizer.name,
             x.initializer.name, x.epochs, x.batch_size, x.seed, x.backend);
  Trainer trainer(x.model(), data.example, data.num_classes, options);
  std::vector<std::unique_ptr<Regularizer>> regularizers;
  for (const auto& r : x.regularizers) {
    regularizers.push_back(PluginRegistry::global().make_regularizer(r.name, r.settings));
    trainer.add(*regularizers.back());
  }
  namespace fs = std::filesystem;
  const fs::path dir = options.output_dir;
  if (!resume.empty()) {
    trainer.load_checkpoint((dir / "checkpoint.bin").string());
    fmt::print("resuming after epoch {} from {}\n", trainer.epochs_done(), (dir / "checkpoint.bin").string());
  }
  Progress progress(x.epochs, (data.train.size() + x.batch_size - 1) / x.batch_size, x.batch_size);
  trainer.add(progress);
  StopOnInterrupt stop;
  trainer.add(stop);
  interrupted = false;
  auto previous = std::signal(SIGINT, on_interrupt);
  const auto records = trainer.fit(data.train, &data.validation);
  std::signal(SIGINT, previous);
  if (interrupted) {
    fmt::print("\ninterrupted: checkpoint after epoch {} (and {} in the next) in {}; continue with\n"
               "  symgrad train {} --resume {}\n",
               trainer.epochs_done(), trainer.stopped_early() ? "part of the batches" : "none", (dir / "checkpoint.bin").string(),
               x.file, dir.string());
    return 130;
  }
  const Evaluation test = trainer.evaluate(data.test);

  fs::create_directories(dir);
  save_variables(trainer.store(), (dir / "variables.bin").string());
  fs::copy_file(x.file, dir / "experiment.toml", fs::copy_options::overwrite_existing);
  std::string plots;
  if (!records.empty()) {
    const std::vector<CurveRun> run = {{x.name, (dir / "metrics-epochs.csv").string()}};
    plot_curves((dir / "loss.svg").string(), x.name + ": loss", "loss", run, {"train_loss", "val_loss"});
    plot_curves((dir / "accuracy.svg").string(), x.name + ": accuracy", "accuracy", run, {"train_accuracy", "val_accuracy"});
    plots = fmt::format("; plots: {}, {}", (dir / "loss.svg").string(), (dir / "accuracy.svg").string());
  }
  fmt::print("\n{:12} {:>10} {:>10}\n", "", "loss", "accuracy");
  if (!records.empty()) {
    fmt::print("{:12} {:>10.4f} {:>10.4f}\n", "train", records.back().train_loss, records.back().train_accuracy);
    fmt::print("{:12} {:>10.4f} {:>10.4f}\n", "validation", records.back().val_loss, records.back().val_accuracy);
  }
  fmt::print("{:12} {:>10.4f} {:>10.4f}\n", "test", test.loss, test.accuracy);
  fmt::print("\ntest accuracy {:.2f}% after {} epochs; run folder {}{}\n", 100 * test.accuracy, records.size(),
             dir.string(), plots);
  return kOk;
}

}  // namespace symgrad::cli
