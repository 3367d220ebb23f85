#include "run.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <chrono>
#include <csignal>
#include <mutex>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "plot/curves.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/core/hash.hpp"
#include "symgrad/io/atomic_file.hpp"
#include "symgrad/io/run_folder.hpp"
#include "symgrad/io/variables_file.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/runtime/threads.hpp"
#include "symgrad/train/retraining.hpp"

namespace symgrad::cli {

namespace {

// Progress at the trainer's named points: a bar redrawn on a terminal, one line per epoch
// otherwise. Under mpirun (`bar` false) one line per epoch too: mpirun gives the ranks a terminal,
// but stops reading it on Ctrl-C, and a bar redrawn every few steps would fill it and block rank 0
// in a write before it could stop and write its checkpoint.
class Progress final : public Strategy {
 public:
  Progress(std::int64_t epochs, std::int64_t steps_per_epoch, std::int64_t batch, bool bar)
      : epochs_(epochs), steps_(steps_per_epoch), batch_(batch), tty_(bar && ::isatty(STDOUT_FILENO) != 0) {}

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
    const std::string metric = e.metrics.count("rmse") ? "rmse" : "accuracy";
    fmt::print("\repoch {}/{} [{}{}] {}/{} loss {:.4f}  {} {:.4f}  {:.0f} samples/s  ETA {:.1f} s   ", epoch_,
               epochs_, std::string(static_cast<std::size_t>(filled), '='),
               std::string(static_cast<std::size_t>(width - filled), ' '), step_in_epoch_, steps_, e.metrics["loss"],
               metric, e.metrics[metric], rate, eta);
    std::fflush(stdout);
  }
  void on_epoch_end(TrainEvent& e) override {
    // at most about 50 lines for a run of many short epochs: the first, every k-th, the last
    const std::int64_t every = std::max<std::int64_t>(1, (epochs_ + 49) / 50);
    if (e.epoch != 1 && e.epoch != epochs_ && e.epoch % every != 0 && !e.stop) return;
    const double s = seconds();
    const auto get = [&](const std::string& k) { return e.metrics.count(k) ? e.metrics.at(k) : 0.0; };
    const std::string metric = e.metrics.count("rmse") ? "rmse" : "accuracy";
    fmt::print("{}epoch {}/{}  loss {:.4f}  {} {:.4f}", tty_ ? "\r" : "", e.epoch, epochs_, get("loss"), metric, get(metric));
    if (e.metrics.count("val_loss")) fmt::print("  val_loss {:.4f}  val_{} {:.4f}", get("val_loss"), metric, get("val_" + metric));
    if (e.metrics.count("lr")) fmt::print("  lr {:.3g}", get("lr"));
    fmt::print("  {:.0f} samples/s  {:.1f} s{}\n", static_cast<double>(steps_ * batch_) / std::max(s, 1e-9), s,
               tty_ ? "          " : "");
    std::fflush(stdout);
  }

 private:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  std::int64_t epochs_, steps_, batch_, step_in_epoch_ = 0, epoch_ = 0;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
};

// Ctrl-C (SIGINT), or SIGTERM (what mpirun sends every rank on Ctrl-C, and batch schedulers before
// a kill): the current step ends, a checkpoint is written, the command exits. Under mpirun the
// ranks agree to stop after the same step (the trainer asks them all at every step's end).
std::atomic<bool> interrupted{false};

extern "C" void on_interrupt(int) { interrupted = true; }

// The Ctrl-C handlers while runs are training: the first run to start installs them (and clears
// `interrupted`), the last to end puts back the ones before (compare --jobs trains several at once).
class InterruptHandlers {
 public:
  InterruptHandlers() {
    const std::lock_guard lock(mutex_);
    if (active_++ > 0) return;
    interrupted = false;
    previous_int_ = std::signal(SIGINT, on_interrupt);
    previous_term_ = std::signal(SIGTERM, on_interrupt);
  }
  ~InterruptHandlers() {
    const std::lock_guard lock(mutex_);
    if (--active_ > 0) return;
    std::signal(SIGINT, previous_int_);
    std::signal(SIGTERM, previous_term_);
  }
  InterruptHandlers(const InterruptHandlers&) = delete;
  InterruptHandlers& operator=(const InterruptHandlers&) = delete;

 private:
  static inline std::mutex mutex_;
  static inline int active_ = 0;
  static inline void (*previous_int_)(int) = nullptr;
  static inline void (*previous_term_)(int) = nullptr;
};

class StopOnInterrupt final : public Strategy {
 public:
  void on_step_end(TrainEvent& e) override {
    if (interrupted) e.stop = true;
  }
};

// What a resume changes (docs/experiments.md, "Resuming"): the run folder's experiment.toml, the
// experiment it was started with and the changes of earlier resumes, against `x`. A setting that
// defines the run and differs is refused (resume_changes), before anything is loaded.
struct Resume {
  std::string history;  // the "# resumed after ..." lines of earlier resumes
  std::vector<SettingChange> changes;
};

Resume compare_with_run(const Experiment& x, const std::string& dir, bool writer) {
  const std::filesystem::path recorded = std::filesystem::path(dir) / "experiment.toml";
  Resume r;
  if (!std::filesystem::is_regular_file(recorded)) {
    if (writer) {
      fmt::print(stderr, "warning: '{}' is missing (a run folder of an older symgrad): the settings of this resume "
                         "are not compared with the run's\n", recorded.string());
    }
    return r;
  }
  std::ifstream in(recorded);
  const std::string old((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  r.changes = resume_changes(old, recorded.string(), x);
  std::string line;
  std::istringstream lines(old);
  while (std::getline(lines, line)) {
    if (line.rfind("# resumed after ", 0) == 0) r.history += line + "\n";
  }
  return r;
}

// Applies a resume's changes to the trainer that loaded the checkpoint (a changed learning rate or
// schedule replaces the checkpoint's rate) and returns the run's new record: the experiment it
// resumes with, after a line for each resume that changed a setting.
std::string apply_resume(const Experiment& x, const Resume& r, Trainer& trainer, bool writer) {
  std::string history = r.history;
  if (!r.changes.empty()) {
    std::string what;
    bool lr_changed = false;
    for (const auto& c : r.changes) {
      what += fmt::format("{}{} {} -> {}", what.empty() ? "" : ", ", c.key, c.before, c.after);
      lr_changed = lr_changed || c.key == "optimizer.lr" || c.key.rfind("schedule", 0) == 0;
    }
    const VariableStore& store = trainer.store();
    const std::int64_t step =
        store.has("optimizer/step") ? static_cast<std::int64_t>(store.get("optimizer/step").get(0)) : 0;
    const std::string line = fmt::format("# resumed after epoch {} (step {}) with: {}", trainer.epochs_done(), step, what);
    history += line + "\n";
    if (writer) fmt::print("{}\n", line.substr(2));
    if (lr_changed) trainer.reset_learning_rates();
  }
  const std::size_t first_line = x.effective.find('\n');
  return x.effective.substr(0, first_line + 1) + history + x.effective.substr(first_line + 1);
}

// The lines that start a run: the model and the run folder, what the data held, the optimizer
// and the schedule of training, the extensions.
void print_start(const Experiment& x, const ExperimentData& data, const std::string& folder) {
  fmt::print("{}: {} -> {}, {} training / {} validation / {} test examples\n", x.name, x.model_spec.describe(), folder,
             data.train.size(), data.validation.size(), data.test.size());
  for (const auto& line : data.summary) fmt::print("data: {}\n", line);
  if (data.preparation.normalize != "none") {
    fmt::print("data: features normalized ({}) with the statistics of the {} training examples\n",
               data.preparation.normalize, data.train.size());
  }
  const std::string precision = x.precision == "bf16"
                                    ? (native_bf16() ? ", bf16 mixed precision" : ", bf16 asked (no native bf16 here: f32)")
                                    : "";
  fmt::print("optimizer {}, initializer {}, {} epochs of batches of {}, seed {}, {} backend{}\n", x.optimizer.name,
             x.initializer.name, x.epochs, x.batch_size, x.seed, x.backend, precision);
  std::string extras;
  for (const auto& r : x.regularizers) extras += (extras.empty() ? "" : ", ") + r.name;
  for (const auto& st : x.strategies) extras += (extras.empty() ? "" : ", ") + st.name;
  if (!extras.empty()) fmt::print("regularizers and strategies: {}\n", extras);
}

// A training step of fewer multiply-adds than this runs on one thread: measured on an AMD EPYC
// (Zen 3), 60 epochs of the moons MLP, 2 x 64 units (0.8M a step) take 0.32 s on one thread and
// 0.34 s on two; 2 x 256 units (12.7M) 0.75 s and 0.50 s. Below it a second thread waits more than
// it works, and two runs side by side spin against each other (docs/backends.md, "Threads").
constexpr double kOneThreadBelow = 4e6;

// "AMD EPYC 7B13 (oneDNN avx2, chains avx2)": /proc/cpuinfo's model name and the vector
// instruction sets the kernels run (the CPU's, as ONEDNN_MAX_CPU_ISA allows).
std::string cpu_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string model = "unknown CPU";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      model = line.substr(line.find(':') + 1);
      model.erase(0, model.find_first_not_of(' '));
      break;
    }
  }
  for (char& c : model) c = c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ? ' ' : c;  // (a TOML string)
  const InstructionSets isa = instruction_sets();
  return fmt::format("{} (oneDNN {}, chains {})", model, isa.onednn, isa.chains);
}

// run.toml: how the run ran, for --resume (the same thread count gives bitwise the same result)
// and for the figures it gives (the CPU they came from).
void write_run_record(const std::string& folder, const RunThreads& t) {
  const std::string text = fmt::format(
      "# How this run ran (symgrad train). --resume takes the same thread count: a result is bitwise the same\n"
      "# for the same seed and thread count.\nthreads = {}  # {}\ncpu = \"{}\"\n",
      t.count, t.why, cpu_description());
  write_file_atomically((std::filesystem::path(folder) / "run.toml").string(), text);
}

// One writer per run folder, and a new run only in a free one (another process may have taken it
// since the command chose it). nullptr without a folder.
std::unique_ptr<RunFolderLock> take_run_folder(const std::string& folder, bool resume) {
  if (folder.empty()) return nullptr;
  auto lock = std::make_unique<RunFolderLock>(folder);
  if (!resume && !run_folder_is_free(folder)) {
    throw UsageError(fmt::format("the run folder '{}' holds another run's files (written since this command "
                                 "chose it): a new run does not write into it",
                                 folder));
  }
  return lock;
}

// nan_policy: what was undone (the trainer lists the first skipped steps among its warnings).
void print_undone(const Trainer& trainer) {
  if (!trainer.stopped_by().empty()) {
    fmt::print(stderr, "\nwarning: training stopped (nan_policy = stop) at {}\n", trainer.stopped_by());
  }
  if (trainer.skipped_steps() > 0) {
    fmt::print(stderr, "\nwarning: {} steps had non-finite values and were skipped (nan_policy = skip_step)\n",
               trainer.skipped_steps());
    for (const auto& w : trainer.warnings()) {
      if (w.rfind("skipped ", 0) == 0) fmt::print(stderr, "  {}\n", w);
    }
  }
}

// The model the run ends with, evaluated into `out`: early stopping's retraining on training +
// validation data (Algorithms 7.2 and 7.3, kept in `retrained`) replaces `trainer`; else when early
// stopping put back an earlier epoch's variables, the training and validation figures are of those
// variables (not the last epoch's beside the restored model's test figure).
Trainer& final_evaluation(const Experiment& x, const ExperimentData& data, Trainer& trainer, const std::filesystem::path& dir,
                          bool verbose, Retraining& retrained, RunOutcome& out) {
  Trainer* final_model = &trainer;
  if (const std::string how = retraining_of(x); how != "none") {
    retrained = retrain_after_early_stopping(x, data, trainer, how, (dir / "retrain").string());
    final_model = retrained.trainer.get();
    if (verbose) {
      fmt::print("retrained on training + validation data ({}): {} steps{}; metrics in {}\n",
                 how == "from_scratch" ? "Algorithm 7.2, from new first values" : "Algorithm 7.3, from the best model",
                 retrained.steps,
                 how == "continue" ? fmt::format(", until the validation loss fell below {:.4f}", retrained.target) : "",
                 (dir / "retrain").string());
    }
  }
  out.stopped_early = trainer.stopped_early();
  if (final_model == &trainer && trainer.restored_epoch() > 0 && !out.records.empty() &&
      trainer.restored_epoch() != out.records.back().epoch) {
    out.restored_epoch = trainer.restored_epoch();
    out.train = trainer.evaluate(data.train);
    if (data.validation.size() > 0) out.validation = trainer.evaluate(data.validation);
  }
  out.test = final_model->evaluate(data.test);
  return *final_model;
}

// The end of a run in its folder: the variables evaluation used, the pictures, and a 2-D
// classifier's decision boundary (kept in `out`).
void finish_run_folder(const Experiment& x, const ExperimentData& data, Trainer& model, const std::filesystem::path& dir,
                       RunOutcome& out) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  save_variables(model.evaluation_store(), (dir / "variables.bin").string());  // what evaluation used
  if (fs::exists(dir / "metrics-epochs.csv") && fs::file_size(dir / "metrics-epochs.csv") > 0) {
    draw_run_plots(dir.string(), x.name);  // (none when nan_policy = stop ended the first epoch)
  }
  out.boundary = boundary_of(model, data.train, x.name);
  if (out.boundary) {  // the course's figure: the classes the model gives the plane
    write_file_atomically((dir / "boundary.csv").string(), out.boundary->grid_csv());
    plot_boundaries((dir / "boundary.svg").string(), x.name + ": decision boundary", {*out.boundary});
  }
}

}  // namespace

RunThreads choose_threads(const Experiment& x, const Model& model, const std::string& folder, bool resume,
                          const ThreadShare* share) {
  RunThreads t;
  t.step_multiply_adds = 3.0 * static_cast<double>(x.batch_size) * static_cast<double>(model.multiply_adds_per_example());
  if (share != nullptr) {  // one of several runs at once: its share, or one thread for a small step
    const bool small = t.step_multiply_adds < kOneThreadBelow && std::getenv("SYMGRAD_NUM_THREADS") == nullptr;
    t.count = small ? 1 : share->threads;
    t.why = small ? fmt::format("a step is {:.3g} multiply-adds, below {:.3g}", t.step_multiply_adds, kOneThreadBelow)
                  : share->why;
    set_num_threads(t.count);
    return t;
  }
  if (const char* env = std::getenv("SYMGRAD_NUM_THREADS"); env != nullptr) {
    apply_thread_environment();  // (checks it)
    t.count = num_threads();
    t.why = "SYMGRAD_NUM_THREADS";
    return t;
  }
  const std::filesystem::path recorded = std::filesystem::path(folder) / "run.toml";
  if (resume) {  // the count the run started with (none recorded: the machine's, as runs had before)
    std::ifstream in(recorded);
    t.count = default_num_threads();
    t.why = "the machine's cores (the run recorded none)";
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("threads = ", 0) != 0) continue;
      char* end = nullptr;
      const long n = std::strtol(line.c_str() + 10, &end, 10);
      if (end == line.c_str() + 10 || n < 1 || n > 4096) {
        throw UsageError(fmt::format("{}: threads must be a count from 1 to 4096, got '{}'", recorded.string(), line.substr(10)));
      }
      t.count = static_cast<int>(n);
      t.why = "recorded by the run";
    }
  } else if (t.step_multiply_adds < kOneThreadBelow) {
    t.count = 1;
    t.why = fmt::format("a step is {:.3g} multiply-adds, below {:.3g}", t.step_multiply_adds, kOneThreadBelow);
  } else {
    t.count = default_num_threads();
    t.why = fmt::format("a step is {:.3g} multiply-adds", t.step_multiply_adds);
  }
  set_num_threads(t.count);
  return t;
}

std::string new_run_folder(const std::string& dir, bool exact) {
  if (run_folder_is_free(dir)) return dir;
  if (exact) {
    throw UsageError(fmt::format("the folder '{}' holds files already (an earlier run?): a new run does not write "
                                 "into it; continue that run with --resume {}, remove the folder, or give another "
                                 "--output",
                                 dir, dir));
  }
  std::string base = dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  for (int k = 2;; ++k) {
    std::string next = fmt::format("{}-{}", base, k);
    if (run_folder_is_free(next)) return next;
  }
}

Experiment load_finished_run(const std::string& run) {
  namespace fs = std::filesystem;
  const fs::path dir = run;
  if (fs::exists(dir / "experiment.toml") && fs::exists(dir / "checkpoint.bin") && !fs::exists(dir / "variables.bin")) {
    // an interrupted run: the experiment it ran is named on its record's first line
    std::ifstream in(dir / "experiment.toml");
    std::string first, file = (dir / "experiment.toml").string();
    std::getline(in, first);
    const std::string lead = "# The experiment ";
    if (first.rfind(lead, 0) == 0) {
      const std::string rest = first.substr(lead.size());
      const auto end = rest.find(" as it ran");
      if (end != std::string::npos && fs::is_regular_file(rest.substr(0, end))) file = rest.substr(0, end);
    }
    throw UsageError(fmt::format("'{}' holds an interrupted run (a checkpoint, no final variables.bin): finish it "
                                 "first with\n  symgrad train {} --resume {}\n(or --set epochs=N there to stop "
                                 "sooner)",
                                 run, file, run));
  }
  if (!fs::exists(dir / "experiment.toml") || !fs::exists(dir / "variables.bin")) {
    throw UsageError(fmt::format("'{}' is not a finished run folder (experiment.toml and variables.bin)", run));
  }
  return load_experiment((dir / "experiment.toml").string(), {"output=" + dir.string()});
}

std::optional<Boundary> boundary_of(Trainer& model, const Dataset& train, const std::string& label) {
  const auto tasks = model.output_tasks();
  if (!train.labels.defined() || train.features.shape().rank() != 2 || train.features.shape()[1] != 2 || tasks.empty() ||
      tasks.front().second != Task::classification || train.size() == 0) {
    return std::nullopt;
  }
  Boundary b;
  b.label = label;
  b.n = 101;
  const std::vector<double> x = train.features.to_vector(), y = train.labels.to_vector();
  b.lo = {x[0], x[1]}, b.hi = {x[0], x[1]};
  for (std::size_t i = 0; i < x.size(); ++i) b.lo[i % 2] = std::min(b.lo[i % 2], x[i]), b.hi[i % 2] = std::max(b.hi[i % 2], x[i]);
  for (int k = 0; k < 2; ++k) {
    const double pad = 0.1 * std::max(b.hi[k] - b.lo[k], 1e-3);
    b.lo[k] -= pad, b.hi[k] += pad;
  }
  std::vector<double> grid;
  for (int i = 0; i < b.n; ++i) {
    for (int j = 0; j < b.n; ++j) {
      grid.push_back(b.lo[0] + (b.hi[0] - b.lo[0]) * i / (b.n - 1));
      grid.push_back(b.lo[1] + (b.hi[1] - b.lo[1]) * j / (b.n - 1));
    }
  }
  const Dataset points{"grid", Tensor::from(train.features.dtype(), Shape{b.n * b.n, 2}, grid), Tensor(), 0, {}};
  const Tensor logits = model.predict(points);
  const std::int64_t c = logits.shape()[1];
  b.num_classes = static_cast<int>(c);
  for (std::int64_t i = 0; i < points.size(); ++i) {
    const double* z = logits.data<double>() + i * c;
    b.classes.push_back(static_cast<int>(std::max_element(z, z + c) - z));
  }
  const std::size_t every = std::max<std::size_t>(1, y.size() / 2000);
  for (std::size_t i = 0; i < y.size(); i += every) b.points.push_back({x[2 * i], x[2 * i + 1], y[i]});
  return b;
}

LoadedRun load_run_model(const std::string& run) {
  LoadedRun r;
  r.experiment = load_finished_run(run);
  r.data = load_experiment_data(r.experiment);
  TrainerOptions options = r.experiment.trainer_options();
  options.output_dir.clear();  // (reads the run, writes nothing)
  r.trainer = std::make_unique<Trainer>(r.experiment.model(r.data.train), options);
  r.components = make_components(r.experiment);
  r.components.attach(*r.trainer);
  r.trainer->load_variables((std::filesystem::path(run) / "variables.bin").string());
  return r;
}

std::string run_metric(const std::string& epochs_csv) {
  std::ifstream in(epochs_csv);
  std::string header;
  std::getline(in, header);
  return header.find(",train_rmse") != std::string::npos ? "rmse" : "accuracy";
}

std::map<std::string, std::vector<std::string>> step_reports(const std::string& steps_csv, const std::string& epochs_csv) {
  std::ifstream steps(steps_csv), epochs(epochs_csv);
  std::string steps_header, epochs_header;
  std::getline(steps, steps_header);
  std::getline(epochs, epochs_header);
  const std::string epoch_columns = "," + epochs_header + ",";
  std::map<std::string, std::vector<std::string>> out;
  std::stringstream names(steps_header);
  for (std::string n; std::getline(names, n, ',');) {
    const auto slash = n.find('/');
    if (slash == std::string::npos || epoch_columns.find("," + n + ",") != std::string::npos) continue;
    out[n.substr(0, slash)].push_back(n);
  }
  return out;
}

std::vector<std::string> draw_run_plots(const std::string& dir, const std::string& name) {
  namespace fs = std::filesystem;
  const std::string csv = (fs::path(dir) / "metrics-epochs.csv").string(), metric = run_metric(csv);
  const std::vector<CurveRun> run = {{name, csv}};
  std::vector<std::string> files = {(fs::path(dir) / "loss.svg").string(), (fs::path(dir) / (metric + ".svg")).string()};
  plot_curves(files[0], name + ": loss", "loss", run, {"train_loss", "val_loss"});
  plot_curves(files[1], name + ": " + metric, metric, run, {"train_" + metric, "val_" + metric});
  // every step's minibatch loss (the course's cost curve, noisy where the epoch curves are smooth)
  // and the learning rate over training
  const std::string steps_csv = (fs::path(dir) / "metrics-steps.csv").string();
  if (fs::exists(steps_csv) && fs::file_size(steps_csv) > 0) {
    const std::vector<CurveRun> steps = {{name, steps_csv}};
    files.push_back((fs::path(dir) / "loss-steps.svg").string());
    std::ifstream head(steps_csv);
    std::string columns;
    std::getline(head, columns);
    const bool penalties = columns.find("/penalty") != std::string::npos;  // (else the objective is the loss)
    plot_curves(files.back(), name + ": minibatch loss at each step", "loss", steps,
                penalties ? std::vector<std::string>{"loss", "objective"} : std::vector<std::string>{"loss"}, "step");
    if (("," + columns + ",").find(",lr,") != std::string::npos) {  // (a host-driven optimizer has no rate)
      files.push_back((fs::path(dir) / "lr.svg").string());
      plot_curves(files.back(), name + ": learning rate", "learning rate", steps, {"lr"}, "step");
    }
    // what an extension reports at some steps only (TrainEvent::report from a step's callback: the
    // curvature strategy's measurements): a picture per extension, a panel per value
    for (const auto& [extension, values] : step_reports(steps_csv, csv)) {
      files.push_back((fs::path(dir) / (extension + ".svg")).string());
      plot_panels(files.back(), fmt::format("{}: reported by {}", name, extension), steps, values);
    }
  }
  // the values the extensions report ("<extension>/<name>": penalties, statistics), when any
  std::vector<std::string> reported;
  std::ifstream in(csv);
  std::string header;
  std::getline(in, header);
  std::stringstream names(header);
  for (std::string n; std::getline(names, n, ',');) {
    if (n.find('/') != std::string::npos && n.rfind("grad_norm/", 0) != 0 && n.rfind("update_ratio/", 0) != 0) {
      reported.push_back(n);
    }
  }
  if (reported.empty()) return files;
  files.push_back((fs::path(dir) / "reported.svg").string());
  plot_curves(files.back(), name + ": reported by the extensions", "value", run, reported);
  return files;
}

RunOutcome run_experiment(const Experiment& x, bool resume, bool verbose, Communicator* comm, const ThreadShare* share) {
  const auto start = std::chrono::steady_clock::now();
  const ExperimentData data = load_experiment_data(x);
  TrainerOptions options = x.trainer_options();
  const std::string folder = options.output_dir;
  const bool writer = comm == nullptr || comm->rank() == 0;  // the one process that prints and writes
  if (comm != nullptr) {
    // every rank must run the same experiment, overrides included (a hash of its effective text)
    if (!comm->all_equal(Fnv1a().add(x.effective).value())) {
      throw UsageError(fmt::format("the {} processes were given different experiments ({} or its --set overrides "
                                   "differ between ranks)",
                                   comm->size(), x.file));
    }
    options.communicator = comm;
    if (!writer) options.output_dir.clear(), verbose = false;
    if (writer && verbose) fmt::print("data-parallel over {} processes ({})\n", comm->size(), comm->describe());
  }
  const std::unique_ptr<RunFolderLock> lock = writer ? take_run_folder(folder, resume) : nullptr;
  if (verbose) print_start(x, data, options.output_dir);
  if (writer) {
    for (const auto& w : data.warnings) fmt::print(stderr, "warning: {}\n", w);
    if (x.batch_size > data.train.size()) {
      fmt::print(stderr, "warning: batch_size {} is larger than the {} training examples: each epoch is one batch of {}\n",
                 x.batch_size, data.train.size(), data.train.size());
    }
  }
  options.batch_size = std::min(options.batch_size, std::max<std::int64_t>(data.train.size(), 1));  // (the same batches)
  const Model model = x.model(data.train);
  const RunThreads threads = choose_threads(x, model, folder, resume, share);
  if (verbose) fmt::print("threads: {} ({})\ncpu: {}\n", threads.count, threads.why, cpu_description());
  Trainer trainer(model, options);
  const ExperimentComponents components = make_components(x);
  components.attach(trainer);
  namespace fs = std::filesystem;
  const fs::path dir = folder;
  // the run's record of its experiment, written now: a killed run has it too, to resume against
  std::string record = x.effective;
  if (resume) {
    const Resume changes = compare_with_run(x, dir.string(), writer);
    trainer.load_checkpoint((dir / "checkpoint.bin").string());
    if (writer) fmt::print("resuming after epoch {} from {}\n", trainer.epochs_done(), (dir / "checkpoint.bin").string());
    record = apply_resume(x, changes, trainer, writer);
  }
  if (writer && !folder.empty()) {
    write_file_atomically((dir / "experiment.toml").string(), record);
    if (!resume || !fs::exists(dir / "run.toml")) write_run_record(folder, threads);
    // what predict needs to prepare new examples alike (the class names, the normalization)
    if (!data.preparation.empty()) write_file_atomically((dir / "data.toml").string(), data.preparation.to_toml());
  }
  trainer.prepare();
  if (writer) {
    for (const auto& w : trainer.warnings()) fmt::print(stderr, "warning: {}\n", w);
  }
  // the first values, for `symgrad landscape` (the line from them to the trained model)
  if (writer && !folder.empty() && !resume) save_variables(trainer.store(), (dir / "initial-variables.bin").string());
  Progress progress(x.epochs, (data.train.size() + x.batch_size - 1) / x.batch_size, x.batch_size,
                    comm == nullptr || comm->size() == 1);
  if (verbose) trainer.add(progress);
  StopOnInterrupt stop;
  trainer.add(stop);
  std::vector<EpochRecord> records;
  {
    const InterruptHandlers handlers;
    records = trainer.fit(data.train, data.validation.size() > 0 ? &data.validation : nullptr);
  }
  if (comm != nullptr && comm->size() > 1) interrupted = comm->any(interrupted);  // a rank not signalled stopped too
  RunOutcome out;
  out.epochs_done = trainer.epochs_done();
  out.dir = dir.string();
  if (interrupted) {
    if (writer) fmt::print("\ninterrupted: checkpoint after epoch {} (and {} in the next) in {}; continue with\n"
               "  symgrad train {} --resume {}\n",
               trainer.epochs_done(), trainer.stopped_early() ? "part of the batches" : "none", (dir / "checkpoint.bin").string(),
               x.file, dir.string());
    out.interrupted = true;
    return out;
  }
  out.records = records;
  if (writer) print_undone(trainer);
  Retraining retrained;
  Trainer& final_model = final_evaluation(x, data, trainer, dir, verbose, retrained, out);
  if (!writer) return out;

  finish_run_folder(x, data, final_model, dir, out);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace symgrad::cli
