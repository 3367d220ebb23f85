#include "symgrad/train/trainer.hpp"

#include <algorithm>
#include <chrono>
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

namespace symgrad {

using trainer_detail::all_finite;
using trainer_detail::build;
using trainer_detail::draw_random_inputs;
using trainer_detail::check_targets;
using trainer_detail::data_feeds;
using trainer_detail::data_parallel_step;
using trainer_detail::MetricsFile;
using trainer_detail::shard_of;
using trainer_detail::ShardedObjective;
using trainer_detail::start_data_parallel;
using trainer_detail::Score;

namespace {

// (||now - before||, ||before||) over a floating parameter, in one pass.
std::pair<double, double> update_and_weight_norms(const Tensor& now, const Tensor& before) {
  double du = 0, w = 0;
  auto pass = [&](const auto* a, const auto* b) {
    for (std::int64_t i = 0; i < now.numel(); ++i) {
      const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
      du += d * d;
      w += static_cast<double>(b[i]) * static_cast<double>(b[i]);
    }
  };
  if (now.dtype() == DType::f32) {
    pass(now.data<float>(), before.data<float>());
  } else {
    pass(now.data<double>(), before.data<double>());
  }
  return {std::sqrt(du), std::sqrt(w)};
}

// What is not finite in a step's results (its outputs: loss, objective, logits, per-parameter
// gradient norms; then every variable it wrote), in that order: the checked path. A gradient norm
// that is infinite while every gradient is finite (a sum of squares past the float range) is not a
// finding by itself; a NaN norm is. Empty when all is finite.
std::string non_finite_in_step(const std::vector<Tensor>& out, const VariableStore& store,
                               const std::vector<std::string>& param_names, const std::vector<std::string>& written) {
  if (!std::isfinite(out[0].get(0))) return fmt::format("the loss is {}", out[0].get(0));
  if (!std::isfinite(out[1].get(0))) return fmt::format("the objective (loss + penalties) is {}", out[1].get(0));
  for (std::size_t k = 0; k < param_names.size() && 3 + k < out.size(); ++k) {
    if (std::isnan(out[3 + k].get(0))) return fmt::format("the gradient of '{}' holds a NaN", param_names[k]);
  }
  for (const auto& name : written) {
    const Tensor& t = store.get(name);
    if (!all_finite(t)) {
      const std::int64_t at = trainer_detail::first_non_finite(t);
      return fmt::format("the step's new value of '{}' {} holds {} at element {}", name, t.type().to_string(), t.get(at), at);
    }
  }
  return "";
}


}  // namespace

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
  if (!impl_->built) {
    impl_->extensions.push_back({name.empty() ? fmt::format("extension{}", impl_->extensions.size() + 1) : name, &extension});
  }
  impl_->callbacks.push_back(&extension);
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

// The order of epoch `epoch`'s examples: a seeded shuffle (Fisher-Yates), then the extensions' say
// (curriculum: reordered or a part of it kept).
std::vector<std::int64_t> epoch_order(const Trainer::Impl& m, const Dataset& train, std::int64_t epoch,
                                      std::uint64_t seed, std::function<std::vector<double>()> example_losses) {
  EpochData data{epoch, std::vector<std::int64_t>(static_cast<std::size_t>(train.size())),
                 derive_seed(seed, fmt::format("epoch/{}", epoch)), &train.features, &train.labels,
                 std::move(example_losses)};
  std::vector<std::int64_t>& order = data.order;
  std::iota(order.begin(), order.end(), 0);
  Random shuffle(data.seed);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle.below(i)]);
  for (const auto& e : m.extensions) e.extension->order_epoch(data);
  if (order.empty()) throw UsageError(fmt::format("epoch {} has no examples left after the extensions' ordering", epoch));
  return std::move(data.order);
}

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
  std::vector<double> x = m.full_batch->current();
  std::unique_ptr<ShardedObjective> sharded;
  if (comm != nullptr) sharded = std::make_unique<ShardedObjective>(*m.full_batch, share, *comm);
  Objective& f = sharded ? static_cast<Objective&>(*sharded) : *m.full_batch;
  const double objective = m.host->iterate(f, x);
  m.full_batch->assign(x);
  if (!std::isfinite(objective)) throw Error(fmt::format("training diverged at epoch {}: the objective is {}", epoch, objective));
  Evaluation now = evaluate_train();
  now.metrics["objective"] = objective;
  return now;
}

}  // namespace

std::vector<EpochRecord> Trainer::fit(const Dataset& train, const Dataset* validation) {
  if (train.size() == 0) throw UsageError("the training set is empty");
  ensure_built();
  Impl& m = *impl_;
  check_targets(m, train, "training ");
  const std::string metric = Score(m.tasks.front()).primary_name();  // accuracy, or rmse
  if (validation != nullptr) check_targets(m, *validation, "validation ");
  MetricsFile step_file, epoch_file;
  std::unique_ptr<RunFolderLock> lock;  // one writer per run folder
  if (!options_.output_dir.empty()) {
    lock = std::make_unique<RunFolderLock>(options_.output_dir);
    const bool resumed = m.epochs_done > 0 || m.batch_in_epoch > 0;
    trainer_detail::remove_stale_temporaries(options_.output_dir);
    step_file.open(std::filesystem::path(options_.output_dir) / "metrics-steps", resumed, "step",
                   static_cast<double>(m.steps));
    epoch_file.open(std::filesystem::path(options_.output_dir) / "metrics-epochs", resumed, "epoch",
                    static_cast<double>(m.epochs_done));
  }
  std::vector<EpochRecord> records;
  TrainEvent event;
  event.store = &store_;
  event.recompute_state = [&] { recompute_state(train); };
  m.stopped = false;
  for (auto* c : m.callbacks) c->on_train_begin(event);
  const std::int64_t b = options_.batch_size;
  const std::string checkpoint =
      options_.output_dir.empty() ? "" : (std::filesystem::path(options_.output_dir) / "checkpoint.bin").string();
  auto last_checkpoint = std::chrono::steady_clock::now();
  // nan_policy: the variables a step writes, copied before it when a bad step is to be undone
  using NanPolicy = TrainerOptions::NanPolicy;
  Communicator* const comm = options_.communicator != nullptr && options_.communicator->size() > 1 ? options_.communicator
                                                                                                   : nullptr;
  if (comm != nullptr) start_data_parallel(m, *comm, train, options_.batch_size, store_);
  const bool undoable = options_.nan_policy != NanPolicy::raise;
  std::vector<std::string> written;
  for (const auto& [name, value] : m.training_step.updates) written.push_back(name);
  trainer_detail::StepSnapshot snapshot;
  for (std::int64_t epoch = m.epochs_done + 1; epoch <= options_.epochs && !event.stop; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    if (m.schedule) apply_lr_schedule(store_, m.training_step.optimizer, *m.schedule, epoch - 1);
    event.epoch = epoch;
    for (auto* c : m.callbacks) c->on_epoch_begin(event);
    const std::vector<std::int64_t> order =
        epoch_order(m, train, epoch, options_.seed, [&] { return example_losses(train); });
    const std::int64_t n = static_cast<std::int64_t>(order.size());
    std::map<std::string, Tensor> before;  // for the update / weight ratios
    for (const auto& name : m.param_names) before[name] = store_.get(name).clone();
    double loss_sum = 0, objective_sum = 0;
    Score epoch_score(m.tasks.front());
    double host_metric = 0;  // a host-driven iteration's: the full training set's
    std::vector<double> grad_norms(m.param_names.size(), 0.0);
    std::int64_t batches = 0;
    std::int64_t skipped = 0, skipped_examples = 0;  // steps undone by nan_policy = skip_step
    double comm_seconds = 0;                          // data-parallel: in the sums over the processes
    const std::int64_t skip = std::exchange(m.batch_in_epoch, 0);  // resuming inside this epoch
    if (m.host) {  // one iteration of the host-driven optimizer over the whole training set
      event.step = m.steps;
      for (auto* c : m.callbacks) c->on_step_begin(event);
      const Evaluation now = host_iteration(m, train, comm, store_, options_, epoch, [&] { return evaluate(train); });
      const double objective = now.metrics.at("objective");
      // the epoch's sums, as the minibatch loop keeps them (divided by n below)
      loss_sum = now.loss * static_cast<double>(n);
      objective_sum = objective * static_cast<double>(n);
      host_metric = now.accuracy;
      batches = 1;
      ++m.steps;
      event.step = m.steps;
      event.metrics = {{"loss", now.loss}, {"objective", objective}, {now.metric, now.accuracy}};
      step_file.write({{"epoch", double(epoch)}, {"step", double(m.steps)}, {"loss", now.loss}, {"objective", objective},
                       {now.metric, now.accuracy}});
      for (auto* c : m.callbacks) c->on_step_end(event);
      if (comm != nullptr) event.stop = comm->any(event.stop);  // one rank's stop (Ctrl-C) is every rank's
    }
    for (std::int64_t at = skip * b; at < n && !event.stop && !m.host; at += b) {
      const std::vector<std::int64_t> index(order.begin() + at, order.begin() + std::min(n, at + b));
      const Dataset batch = train.gather(index);
      Feeds feeds = data_feeds(m, batch, options_.dtype);
      if (!m.extensions.empty() && feeds.count("x")) {  // the batch is its own copy (gathered): transformed in place
        BatchData bd{epoch, m.steps, derive_seed(options_.seed, fmt::format("batch/{}", m.steps)), feeds["x"], &batch.labels};
        for (const auto& e : m.extensions) e.extension->transform_batch(bd);
        feeds["x"] = bd.features;
      }
      draw_random_inputs(m.train_forward.randoms, batch.size(), derive_seed(options_.seed, fmt::format("dropout/{}", m.steps)),
                         feeds);
      event.step = m.steps;
      for (auto* c : m.callbacks) c->on_step_begin(event);
      // A step that fails may have updated variables in place already: say so, keep the last
      // checkpoint as it is, and refuse to save this store.
      const auto incomplete = [&](const std::string& what) {
        m.incomplete = fmt::format("step {} (epoch {}) did not complete", m.steps + 1, epoch);
        return Error(fmt::format("{}; variables it updated in place hold part of that step, so the store is not the "
                                 "state after any step: {}",
                                 what,
                                 checkpoint.empty() ? "nothing was saved"
                                 : std::filesystem::exists(checkpoint)
                                     ? fmt::format("the last checkpoint, {}, is untouched", checkpoint)
                                     : fmt::format("no checkpoint was written yet (the first comes after epoch {})",
                                                   m.epochs_done + 1)));
      };
      const std::vector<Tensor>* result = nullptr;
      std::vector<Tensor> combined;  // data-parallel: the outputs of both plans, as the one plan's
      Score batch_score(m.tasks.front());
      if (undoable) snapshot.take(store_, written);
      try {
        if (comm != nullptr) {
          combined = data_parallel_step(m, *comm, feeds, batch.size(), store_, options_.bucket_cap_mb * 1024 * 1024,
                                        batch_score, comm_seconds);
          result = &combined;
        } else {
          result = &m.step->run(feeds, &store_);
          batch_score.add((*result)[2], feeds.at(m.targets.front()));
        }
      } catch (const std::exception& e) {
        if (undoable) snapshot.restore(store_);
        throw (undoable ? Error(fmt::format("training failed at epoch {}, step {}: {}; the step was undone", epoch,
                                            m.steps + 1, e.what()))
                        : incomplete(fmt::format("training failed at epoch {}, step {}: {}", epoch, m.steps + 1, e.what())));
      }
      const auto& out = *result;
      const double loss = out[0].get(0), objective = out[1].get(0);
      // (data-parallel: what this checks is the same on every rank, the sums over the ranks and the
      // values written from them, so every rank undoes or stops alike without asking the others)
      if (const std::string bad = non_finite_in_step(out, store_, m.param_names, written); !bad.empty()) {
        const std::string step_name = fmt::format("epoch {}, step {}", epoch, m.steps + 1);
        if (!undoable) {
          throw incomplete(fmt::format("training diverged at {}: {} (lower the learning rate? nan_policy = \"stop\" or "
                                       "\"skip_step\" undo such a step and name the op that produced the value)",
                                       step_name, bad));
        }
        snapshot.restore(store_);
        std::string first;
        if (comm != nullptr) {
          first = "(the op is not named in data-parallel training: rerun on one process for that)";
        } else {
          try {
            first = trainer_detail::describe_first_non_finite(m.train_graph, m.step_roots, m.training_step.updates,
                                                              options_.backend, options_.precision, feeds, store_);
          } catch (const std::exception& e) {
            first = fmt::format("(rerunning the step to find the op failed: {})", e.what());
          }
        }
        // a skipped step is not taken: the next batch is tried as the same step, so batches name them
        const std::string where = options_.nan_policy == NanPolicy::skip_step
                                      ? fmt::format("epoch {}, batch {} (as step {})", epoch, skip + batches + 1, m.steps + 1)
                                      : step_name;
        const std::string what = fmt::format("{}: {}{}{}; the step was undone", where, bad, first.empty() ? "" : "; ", first);
        if (options_.nan_policy == NanPolicy::stop) {
          m.stopped_by = what;
          m.batch_in_epoch = skip + batches;
          m.stopped = true;
          event.stop = true;
          if (!checkpoint.empty()) save_checkpoint(checkpoint);
          for (auto* c : m.callbacks) c->on_train_end(event);
          return records;
        }
        if (m.skipped_steps < 10) m.warnings.push_back("skipped " + what);
        ++m.skipped_steps, ++skipped, ++batches;
        skipped_examples += batch.size();
        continue;
      }
      const auto count = static_cast<double>(batch.size());
      loss_sum += loss * count;
      objective_sum += objective * count;

      epoch_score.merge(batch_score);
      for (std::size_t k = 0; k < grad_norms.size(); ++k) grad_norms[k] += out[3 + k].get(0);
      ++batches;
      ++m.steps;
      event.step = m.steps;
      event.metrics = {{"loss", loss},
                       {"objective", objective},
                       {metric, batch_score.primary()},
                       {"lr", store_.get("optimizer/lr").get(0)}};
      step_file.write({{"epoch", double(epoch)}, {"step", double(m.steps)}, {"loss", loss}, {"objective", objective},
                       {metric, event.metrics[metric]}, {"lr", event.metrics["lr"]}});
      for (auto* c : m.callbacks) c->on_step_end(event);
      if (comm != nullptr) event.stop = comm->any(event.stop);  // one rank's stop (Ctrl-C) is every rank's
      if (event.stop && at + b < n) {  // stopped inside the epoch: keep the place and leave
        m.batch_in_epoch = skip + batches;
        m.stopped = true;
        if (!checkpoint.empty()) save_checkpoint(checkpoint);
        for (auto* c : m.callbacks) c->on_train_end(event);
        return records;
      }
    }
    if (skipped > 0 && skipped == batches) {
      throw Error(fmt::format("every step of epoch {} had non-finite values and was skipped (nan_policy = skip_step); "
                              "the store is the state after step {}: {}",
                              epoch, m.steps, m.warnings.empty() ? "" : m.warnings.back()));
    }
    for (auto* c : m.callbacks) c->on_epoch_trained(event);
    EpochRecord r;
    r.epoch = epoch;
    const auto counted = static_cast<double>(n - skipped_examples);
    r.train_loss = loss_sum / counted;
    r.train_objective = objective_sum / counted;
    r.train_accuracy = m.host ? host_metric : epoch_score.primary();
    r.metric = metric;
    r.lr = store_.has("optimizer/lr") ? store_.get("optimizer/lr").get(0) : 0.0;
    std::vector<std::pair<std::string, double>> row = {{"epoch", double(epoch)},
                                                      {"train_loss", r.train_loss},
                                                      {"train_objective", r.train_objective},
                                                      {"train_" + metric, r.train_accuracy}};
    event.metrics = {{"loss", r.train_loss}, {"objective", r.train_objective}, {metric, r.train_accuracy}};
    if (validation != nullptr) {
      const Evaluation v = evaluate(*validation);
      r.val_loss = v.loss, r.val_accuracy = v.accuracy, r.val_metrics = v.metrics;
      row.insert(row.end(), {{"val_loss", v.loss}, {"val_" + metric, v.accuracy}});
      event.metrics["val_loss"] = v.loss;
      event.metrics["val_" + metric] = v.accuracy;
      // a model of several losses, or one that is not a classifier: every output's figures too
      if (m.outputs.size() > 1 || m.tasks.front() != Task::classification) {
        for (const auto& [name, value] : v.metrics) {
          row.emplace_back("val_" + name, value);
          event.metrics["val_" + name] = value;
        }
      }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    row.insert(row.end(), {{"lr", r.lr}, {"seconds", r.seconds}});
    if (comm != nullptr) row.emplace_back("comm_seconds", comm_seconds);
    if (options_.nan_policy == NanPolicy::skip_step) row.emplace_back("skipped_steps", static_cast<double>(skipped));
    if (!m.host) event.metrics["lr"] = r.lr;
    for (std::size_t k = 0; k < m.param_names.size(); ++k) {
      const std::string& name = m.param_names[k];
      const auto [update, weight] = update_and_weight_norms(store_.get(name), before.at(name));
      if (!m.host) row.emplace_back("grad_norm/" + name, grad_norms[k] / static_cast<double>(batches - skipped));
      row.emplace_back("update_ratio/" + name, weight > 0 ? update / weight : update);
    }
    epoch_file.write(row);
    records.push_back(r);
    for (auto* c : m.callbacks) c->on_epoch_end(event);
    if (comm != nullptr) event.stop = comm->any(event.stop);
    m.epochs_done = epoch;
    const double since = std::chrono::duration<double>(std::chrono::steady_clock::now() - last_checkpoint).count();
    if (!checkpoint.empty() && (epoch == options_.epochs || event.stop || since >= options_.checkpoint_seconds)) {
      save_checkpoint(checkpoint);
      last_checkpoint = std::chrono::steady_clock::now();
    }
  }
  m.stopped = event.stop && m.epochs_done < options_.epochs;
  for (auto* c : m.callbacks) c->on_train_end(event);
  return records;
}

}  // namespace symgrad
