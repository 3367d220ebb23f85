#include "symgrad/train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <numeric>
#include <utility>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/hash.hpp"
#include "symgrad/core/random.hpp"
#include "symgrad/io/run_folder.hpp"
#include "symgrad/io/variables_file.hpp"
#include "data_parallel.hpp"
#include "non_finite.hpp"
#include "trainer_impl.hpp"
#include "trainer_loop.hpp"

namespace symgrad {

using trainer_detail::build;
using trainer_detail::draw_random_inputs;
using trainer_detail::check_targets;
using trainer_detail::data_feeds;
using trainer_detail::MetricsFile;
using trainer_detail::shard_of;
using trainer_detail::ShardedObjective;
using trainer_detail::start_data_parallel;
using trainer_detail::Score;

Trainer::Trainer(const Sequential& model, TensorType example, std::int64_t num_classes, TrainerOptions options)
    : Trainer(model.empty() ? Model() : model.to_model(std::move(example)), std::move(options)) {
  (void)num_classes;  // the labels are checked against the output's width when training starts
}

Trainer::Trainer(Model model, TrainerOptions options)
    : impl_(std::make_unique<Impl>()), model_(std::move(model)), options_(std::move(options)) {
  if (model_.empty()) throw UsageError("the trainer needs a model with at least one layer");
  if (options_.epochs < 0 || options_.batch_size < 1) {
    throw UsageError(fmt::format("epochs must be >= 0 and batch_size >= 1, got {} and {}", options_.epochs,
                                 options_.batch_size));
  }
  if (!(options_.bucket_cap_mb > 0)) {
    throw UsageError(fmt::format("bucket_cap_mb must be > 0, got {}", options_.bucket_cap_mb));
  }
  if (!options_.schedule.empty()) impl_->schedule = make_lr_schedule(options_.schedule, options_.schedule_settings);
}

Trainer::~Trainer() = default;

void Trainer::ensure_built() {
  if (impl_->built) return;
  build(*impl_, model_, options_, store_);
}

void Trainer::add(Extension& extension, const std::string& name) {
  // one name for its state, its penalty's column and what its callbacks report
  const std::string named = name.empty() ? fmt::format("extension{}", impl_->callbacks.size() + 1) : name;
  if (!impl_->built) impl_->extensions.push_back({named, &extension});
  impl_->callbacks.emplace_back(named, &extension);
}

void Trainer::recompute_state(const Dataset& data) {
  ensure_built();
  Impl& m = *impl_;
  if (m.train_forward.state_updates.empty() || data.size() == 0) return;
  if (!m.state_plan) {
    CompileOptions co;
    co.backend = options_.backend;
    co.precision = options_.precision;
    co.updates = m.train_forward.state_updates;
    m.state_plan = std::make_unique<Plan>(compile(m.train_graph, {}, co));
  }
  for (const auto& p : m.train_forward.params) {  // the statistics start over
    const std::string& name = p.value.producer().name;
    if (!p.trainable && m.train_forward.state_updates.count(name)) {
      store_.get(name).fill(p.start == ParamInfo::Start::ones ? 1.0 : 0.0);
    }
  }
  VariableStore view = evaluation_store();  // shares the statistics' tensors with the store
  const std::int64_t n = data.size(), b = options_.batch_size;
  for (std::int64_t at = 0, k = 0; at < n; at += b, ++k) {
    const Dataset part = data.rows(at, std::min(b, n - at));
    Feeds feeds = data_feeds(m, part, options_.dtype);
    draw_random_inputs(m.train_forward.randoms, part.size(), derive_seed(options_.seed, fmt::format("recompute/{}", k)),
                       feeds);
    m.state_plan->run(feeds, &view);
  }
}

void Trainer::prepare() {
  ensure_built();
}

const std::vector<std::string>& Trainer::warnings() const { return impl_->warnings; }

VariableStore Trainer::evaluation_store() {
  ensure_built();
  return evaluation_view(store_, impl_->training_step.evaluation_variables);
}

namespace {

// One iteration of the host-driven optimizer over the whole training set (data-parallel: each
// rank's shard, the objective summed over the ranks); the data loss and metric at the new point,
// with its objective as metrics["objective"].
Evaluation host_iteration(Trainer::Impl& m, const Dataset& train, Communicator* comm, VariableStore& store,
                          const TrainerOptions& o, std::int64_t epoch, const std::function<Evaluation()>& evaluate_train) {
  double share = 1;
  std::pair<std::int64_t, std::int64_t> rows = {0, train.size()};
  if (comm != nullptr) {
    rows = shard_of(train.size(), comm->rank(), comm->size());
    share = static_cast<double>(rows.second - rows.first) / static_cast<double>(train.size());
  }
  if (!m.full_batch) {
    const Dataset part = comm != nullptr ? train.rows(rows.first, rows.second - rows.first) : train;
    m.full_batch = std::make_unique<GraphObjective>(m.train_graph, m.objective, m.param_values, store,
                                                    data_feeds(m, part, o.dtype), o.backend);
  }
  // The host optimizers keep their state (curvature pairs, directions) while the point they are
  // given is the one they returned: give back their own double-precision point while the store
  // (float32 parameters, rounded from it) still holds it. Anything that changed the store since
  // (a checkpoint loaded, a constraint) starts them afresh from the store's values.
  std::vector<double> x = m.full_batch->current();
  if (!m.host_point.empty() && x == m.host_stored) x = m.host_point;
  std::unique_ptr<ShardedObjective> sharded;
  if (comm != nullptr) sharded = std::make_unique<ShardedObjective>(*m.full_batch, share, *comm);
  Objective& f = sharded ? static_cast<Objective&>(*sharded) : *m.full_batch;
  const double objective = m.host->iterate(f, x);
  m.full_batch->assign(x);
  m.host_point = x;
  m.host_stored = m.full_batch->current();
  if (!std::isfinite(objective)) throw Error(fmt::format("training diverged at epoch {}: the objective is {}", epoch, objective));
  Evaluation now = evaluate_train();
  now.metrics["objective"] = objective;
  return now;
}

// Runs one point of every callback, each under its own name (what it reports is named so).
void notify(Trainer::Impl& m, TrainEvent& event, void (TrainingCallbacks::*point)(TrainEvent&)) {
  for (const auto& [name, c] : m.callbacks) {
    event.source = name;
    (c->*point)(event);
  }
  event.source.clear();
}

// A metrics row with the values reported since the last row (taken out of the event).
std::vector<std::pair<std::string, double>> with_reports(std::vector<std::pair<std::string, double>> row,
                                                         TrainEvent& event) {
  row.insert(row.end(), event.reports.begin(), event.reports.end());
  event.reports.clear();
  return row;
}

// The run folder's files for one fit: its lock (one writer a folder), the metrics files (a
// resumed run's kept up to its checkpoint, the seconds since training began read back from them)
// and the checkpoint's path; none without an output folder.
struct RunFiles {
  std::unique_ptr<RunFolderLock> lock;
  MetricsFile steps, epochs;
  std::string checkpoint;
};

RunFiles open_run_files(Trainer::Impl& m, const std::string& output_dir) {
  RunFiles f;
  if (output_dir.empty()) return f;
  f.lock = std::make_unique<RunFolderLock>(output_dir);
  const bool resumed = m.epochs_done > 0 || m.batch_in_epoch > 0;
  const std::filesystem::path dir = output_dir;
  trainer_detail::remove_stale_temporaries(output_dir);
  f.steps.open(dir / "metrics-steps", resumed, "step", static_cast<double>(m.steps));
  f.epochs.open(dir / "metrics-epochs", resumed, "epoch", static_cast<double>(m.epochs_done));
  m.elapsed = f.epochs.kept("elapsed");  // (a checkpoint holds no times: identical runs write the same bits)
  f.checkpoint = (dir / "checkpoint.bin").string();
  return f;
}

// What one epoch of a host-driven optimizer works on.
struct HostEpoch {
  Trainer::Impl& m;
  const Dataset& train;
  Communicator* comm;
  VariableStore& store;
  const TrainerOptions& options;
  std::int64_t epoch;
};

// The host-driven optimizer's iteration as the epoch's one step: the step callbacks around it,
// its time, the epoch's totals, and its row of metrics-steps with the objective's evaluations so
// far (plan runs: values, values with gradients, Hessian-vector products, Hessians), which set the
// optimizer's cost apart from its iterations.
void host_step(const HostEpoch& h, const std::function<Evaluation()>& evaluate_train, TrainEvent& event,
               trainer_detail::EpochTotals& totals, trainer_detail::StepClocks& clocks, MetricsFile& step_file) {
  Trainer::Impl& m = h.m;
  event.step = m.steps;
  notify(m, event, &TrainingCallbacks::on_step_begin);
  const auto started = std::chrono::steady_clock::now();
  const Evaluation now = host_iteration(m, h.train, h.comm, h.store, h.options, h.epoch, evaluate_train);
  clocks.steps += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double objective = now.metrics.at("objective");
  totals.add_host(now.loss, objective, now.accuracy);
  ++m.steps;
  event.step = m.steps;
  event.metrics = {{"loss", now.loss}, {"objective", objective}, {now.metric, now.accuracy}};
  notify(m, event, &TrainingCallbacks::on_step_end);
  const GraphObjective& f = *m.full_batch;
  step_file.write(with_reports({{"epoch", double(h.epoch)}, {"step", double(m.steps)}, {"loss", now.loss},
                                {"objective", objective}, {now.metric, now.accuracy},
                                {"value_calls", double(f.value_calls)}, {"gradient_calls", double(f.gradient_calls)},
                                {"hvp_calls", double(f.hvp_calls)}, {"hessian_calls", double(f.hessian_calls)}},
                               event));
  if (h.comm != nullptr) event.stop = h.comm->any(event.stop);  // one rank's stop (Ctrl-C) is every rank's
}

// The epoch's record and its row of metrics-epochs: the totals, the validation set's figures, the
// seconds since `start` (and since training began), what the extensions reported at the epoch's
// start (`epoch_reports`) and end (on_epoch_end, called here with the record's metrics).
EpochRecord close_epoch(Trainer::Impl& m, const trainer_detail::EpochTotals& totals,
                        const std::optional<Evaluation>& validation, std::chrono::steady_clock::time_point start,
                        const TrainerOptions& o, const trainer_detail::StepClocks& clocks,
                        const std::vector<std::pair<std::string, double>>& epoch_reports, TrainEvent& event,
                        MetricsFile& epoch_file) {
  std::vector<std::pair<std::string, double>> row;
  EpochRecord r = totals.record(row, event.metrics);
  if (validation) totals.add_validation(*validation, r, row, event.metrics);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  totals.finish_row(row, r, o, clocks);
  m.elapsed += r.seconds;
  notify(m, event, &TrainingCallbacks::on_epoch_end);
  row.insert(row.end(), epoch_reports.begin(), epoch_reports.end());
  epoch_file.write(with_reports(std::move(row), event));
  return r;
}

}  // namespace

std::vector<EpochRecord> Trainer::fit(const Dataset& train, const Dataset* validation) {
  if (train.size() == 0) throw UsageError("the training set is empty");
  ensure_built();
  Impl& m = *impl_;
  check_targets(m, train, "training ");
  if (validation != nullptr) check_targets(m, *validation, "validation ");
  RunFiles files = open_run_files(m, options_.output_dir);
  MetricsFile &step_file = files.steps, &epoch_file = files.epochs;
  const std::string& checkpoint = files.checkpoint;
  std::vector<EpochRecord> records;
  TrainEvent event;
  event.store = &store_;
  event.recompute_state = [&] { recompute_state(train); };
  m.stopped = false;
  m.restored_epoch = 0;
  attach_probes(train);
  notify(m, event, &TrainingCallbacks::on_train_begin);
  // Stopped before the end (a callback, or nan_policy = stop): a checkpoint where it stopped.
  const auto stop_here = [&](std::int64_t batches_taken) {
    m.batch_in_epoch = batches_taken;
    m.stopped = true;
    if (!checkpoint.empty()) save_checkpoint(checkpoint);
    notify(m, event, &TrainingCallbacks::on_train_end);
    m.restored_epoch = event.restored_epoch;
    return records;
  };
  Communicator* const comm = options_.communicator != nullptr && options_.communicator->size() > 1 ? options_.communicator
                                                                                                   : nullptr;
  if (comm != nullptr) start_data_parallel(m, *comm, train, options_.batch_size, store_);
  trainer_detail::StepRunner steps(m, store_, options_, comm, checkpoint);
  trainer_detail::CheckpointClock clock(options_.checkpoint_seconds);
  const std::string metric = Score(m.tasks.front()).primary_name();  // accuracy, or rmse
  for (std::int64_t epoch = m.epochs_done + 1; epoch <= options_.epochs && !event.stop; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    if (m.schedule) apply_lr_schedule(store_, m.training_step.optimizer, *m.schedule, epoch - 1);
    event.epoch = epoch;
    notify(m, event, &TrainingCallbacks::on_epoch_begin);
    std::vector<std::pair<std::string, double>> epoch_reports = std::exchange(event.reports, {});  // for the epoch's row
    const trainer_detail::EpochBatches batches(m, train, options_, epoch, [&] { return example_losses(train); });
    trainer_detail::EpochTotals totals(m, store_, epoch, batches.examples());
    steps.reset_clocks();
    const std::int64_t skip = std::exchange(m.batch_in_epoch, 0);  // resuming inside this epoch
    if (m.host) {  // one iteration of the host-driven optimizer over the whole training set
      const HostEpoch h{m, train, comm, store_, options_, epoch};
      host_step(h, [&] { return evaluate(train); }, event, totals, steps.clocks(), step_file);
    }
    for (std::int64_t k = skip; k < batches.count() && !event.stop && !m.host; ++k) {
      const auto batch = batches.get(k, m.steps);
      event.step = m.steps;
      notify(m, event, &TrainingCallbacks::on_step_begin);
      const auto step = steps.run(batch, epoch, k + 1);
      if (!step.undone.empty()) {  // nan_policy stop or skip_step
        if (options_.nan_policy == TrainerOptions::NanPolicy::stop) {
          m.stopped_by = step.undone;
          event.stop = true;
          return stop_here(k);
        }
        if (m.skipped_steps < 10) m.warnings.push_back("skipped " + step.undone);
        ++m.skipped_steps;
        totals.skip(batch.data.size());
        continue;
      }
      totals.add(step, batch.data.size());
      ++m.steps;
      event.step = m.steps;
      std::vector<std::pair<std::string, double>> step_row = {
          {"epoch", double(epoch)}, {"step", double(m.steps)},     {"loss", step.loss},
          {"objective", step.objective}, {metric, step.score.primary()}, {"lr", store_.get("optimizer/lr").get(0)}};
      for (std::size_t j = 0; j < m.report_names.size(); ++j) step_row.emplace_back(m.report_names[j], step.reports[j]);
      event.metrics = {step_row.begin() + 2, step_row.end()};
      notify(m, event, &TrainingCallbacks::on_step_end);
      step_file.write(with_reports(std::move(step_row), event));
      if (comm != nullptr) event.stop = comm->any(event.stop);  // one rank's stop (Ctrl-C) is every rank's
      if (event.stop && k + 1 < batches.count()) return stop_here(k + 1);  // inside the epoch: keep the place
    }
    if (totals.skipped() > 0 && totals.skipped() == totals.batches()) {
      throw Error(fmt::format("every step of epoch {} had non-finite values and was skipped (nan_policy = skip_step); "
                              "the store is the state after step {}: {}",
                              epoch, m.steps, m.warnings.empty() ? "" : m.warnings.back()));
    }
    if (!m.host) steps.check_epoch(epoch);
    notify(m, event, &TrainingCallbacks::on_epoch_trained);
    const std::optional<Evaluation> checked = validation ? std::optional(evaluate(*validation)) : std::nullopt;
    records.push_back(close_epoch(m, totals, checked, start, options_, steps.clocks(), epoch_reports, event, epoch_file));
    if (comm != nullptr) event.stop = comm->any(event.stop);
    m.epochs_done = epoch;
    if (!checkpoint.empty() && clock.due(epoch == options_.epochs || event.stop)) {
      save_checkpoint(checkpoint);
      clock.written();
    }
  }
  m.stopped = event.stop && m.epochs_done < options_.epochs;
  notify(m, event, &TrainingCallbacks::on_train_end);
  m.restored_epoch = event.restored_epoch;
  return records;
}

}  // namespace symgrad
