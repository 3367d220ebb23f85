#include "trainer_loop.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include <fmt/format.h>

#include "data_parallel.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/core/random.hpp"

namespace symgrad::trainer_detail {

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

// What is not finite in a step's results (its outputs: loss, objective, first output, per-parameter
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
      const std::int64_t at = first_non_finite(t);
      return fmt::format("the step's new value of '{}' {} holds {} at element {}", name, t.type().to_string(), t.get(at), at);
    }
  }
  return "";
}

}  // namespace

// ---- batches -------------------------------------------------------------------------------

EpochBatches::EpochBatches(const Trainer::Impl& m, const Dataset& train, const TrainerOptions& o, std::int64_t epoch,
                           std::function<std::vector<double>()> example_losses)
    : m_(m), train_(train), o_(o), epoch_(epoch), batch_(o.batch_size) {
  EpochData data{epoch, std::vector<std::int64_t>(static_cast<std::size_t>(train.size())),
                 derive_seed(o.seed, fmt::format("epoch/{}", epoch)), &train.features, &train.labels,
                 std::move(example_losses)};
  std::vector<std::int64_t>& order = data.order;
  std::iota(order.begin(), order.end(), 0);
  Random shuffle(data.seed);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle.below(i)]);
  for (const auto& e : m.extensions) e.extension->order_epoch(data);
  if (order.empty()) throw UsageError(fmt::format("epoch {} has no examples left after the extensions' ordering", epoch));
  order_ = std::move(data.order);
}

EpochBatches::Batch EpochBatches::get(std::int64_t k, std::int64_t step) const {
  const std::int64_t at = k * batch_, n = examples();
  const std::vector<std::int64_t> index(order_.begin() + at, order_.begin() + std::min(n, at + batch_));
  Batch b{train_.gather(index), {}};
  b.feeds = data_feeds(m_, b.data, o_.dtype);
  if (!m_.extensions.empty() && b.feeds.count("x")) {  // the batch is its own copy: transformed in place
    BatchData bd{epoch_, step, derive_seed(o_.seed, fmt::format("batch/{}", step)), b.feeds["x"], &b.data.labels};
    for (const auto& e : m_.extensions) e.extension->transform_batch(bd);
    b.feeds["x"] = bd.features;
  }
  draw_random_inputs(m_.train_forward.randoms, b.data.size(), derive_seed(o_.seed, fmt::format("dropout/{}", step)),
                     b.feeds);
  return b;
}

// ---- one step and the NaN policy -----------------------------------------------------------

StepRunner::StepRunner(Trainer::Impl& m, VariableStore& store, const TrainerOptions& o, Communicator* comm,
                       std::string checkpoint)
    : m_(m), store_(store), o_(o), comm_(comm), checkpoint_(std::move(checkpoint)),
      undoable_(o.nan_policy != TrainerOptions::NanPolicy::raise) {
  for (const auto& [name, value] : m.training_step.updates) {
    written_.push_back(name);
    const bool parameter = std::find(m.param_names.begin(), m.param_names.end(), name) != m.param_names.end();
    if (undoable_ || parameter) checked_.push_back(name);
  }
}

void StepRunner::check_epoch(std::int64_t epoch) {
  if (undoable_) return;  // every step checked all it wrote
  for (const auto& name : written_) {
    const Tensor& t = store_.get(name);
    if (all_finite(t)) continue;
    m_.incomplete = fmt::format("epoch {} left a non-finite value in '{}'", epoch, name);
    const std::int64_t at = first_non_finite(t);
    throw Error(fmt::format("training diverged in epoch {}: the value of '{}' {} holds {} at element {} after the "
                            "epoch's steps (nan_policy = \"stop\" checks every variable after every step and names "
                            "the step and the op); {}",
                            epoch, name, t.type().to_string(), t.get(at), at,
                            checkpoint_.empty() ? "nothing was saved"
                            : std::filesystem::exists(checkpoint_)
                                ? fmt::format("the last checkpoint, {}, is untouched", checkpoint_)
                                : std::string("no checkpoint was written yet")));
  }
}

// A step that fails may have updated variables in place already: say so, keep the last checkpoint
// as it is, and refuse to save this store.
Error StepRunner::incomplete(const std::string& what, std::int64_t epoch) const {
  m_.incomplete = fmt::format("step {} (epoch {}) did not complete", m_.steps + 1, epoch);
  return Error(fmt::format("{}; variables it updated in place hold part of that step, so the store is not the state "
                           "after any step: {}",
                           what,
                           checkpoint_.empty() ? "nothing was saved"
                           : std::filesystem::exists(checkpoint_)
                               ? fmt::format("the last checkpoint, {}, is untouched", checkpoint_)
                               : fmt::format("no checkpoint was written yet (the first comes after epoch {})",
                                             m_.epochs_done + 1)));
}

StepResult StepRunner::run(const EpochBatches::Batch& batch, std::int64_t epoch, std::int64_t batch_number) {
  StepResult r;
  r.score = Score(m_.tasks.front());
  const std::vector<Tensor>* result = nullptr;
  std::vector<Tensor> combined;  // data-parallel: the outputs of both plans, as the one plan's
  if (undoable_) snapshot_.take(store_, written_);
  const auto started = std::chrono::steady_clock::now();
  try {
    if (comm_ != nullptr) {
      combined = data_parallel_step(m_, *comm_, batch.feeds, batch.data.size(), store_, o_.bucket_cap_mb * 1024 * 1024,
                                    r.score, clocks_.comm);
      result = &combined;
    } else {
      result = &m_.step->run(batch.feeds, &store_);
      r.score.add((*result)[2], batch.feeds.at(m_.targets.front()));
    }
  } catch (const std::exception& e) {
    if (undoable_) snapshot_.restore(store_);
    const std::string what = fmt::format("training failed at epoch {}, step {}: {}", epoch, m_.steps + 1, e.what());
    throw(undoable_ ? Error(what + "; the step was undone") : incomplete(what, epoch));
  }
  clocks_.steps += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto& out = *result;
  // (data-parallel: what this checks is the same on every rank, the sums over the ranks and the
  // values written from them, so every rank undoes or stops alike without asking the others)
  const std::string bad = non_finite_in_step(out, store_, m_.param_names, checked_);
  if (bad.empty()) {
    r.loss = out[0].get(0), r.objective = out[1].get(0);
    r.grad_norms.resize(m_.param_names.size());
    for (std::size_t k = 0; k < r.grad_norms.size(); ++k) r.grad_norms[k] = out[3 + k].get(0);
    for (std::size_t j = 0; j < m_.report_names.size(); ++j) r.reports.push_back(out[3 + r.grad_norms.size() + j].get(0));
    return r;
  }
  const std::string step_name = fmt::format("epoch {}, step {}", epoch, m_.steps + 1);
  if (!undoable_) {
    throw incomplete(fmt::format("training diverged at {}: {} (lower the learning rate? nan_policy = \"stop\" or "
                                 "\"skip_step\" undo such a step and name the op that produced the value)",
                                 step_name, bad),
                     epoch);
  }
  snapshot_.restore(store_);
  std::string first;
  if (comm_ != nullptr) {
    first = "(the op is not named in data-parallel training: rerun on one process for that)";
  } else {
    try {
      first = describe_first_non_finite(m_.train_graph, m_.step_roots, m_.training_step.updates, o_.backend,
                                        o_.precision, batch.feeds, store_);
    } catch (const std::exception& e) {
      first = fmt::format("(rerunning the step to find the op failed: {})", e.what());
    }
  }
  // a skipped step is not taken: the next batch is tried as the same step, so batches name them
  const std::string at = o_.nan_policy == TrainerOptions::NanPolicy::skip_step
                             ? fmt::format("epoch {}, batch {} (as step {})", epoch, batch_number, m_.steps + 1)
                             : step_name;
  r.undone = fmt::format("{}: {}{}{}; the step was undone", at, bad, first.empty() ? "" : "; ", first);
  return r;
}

// ---- the epoch's sums and record -----------------------------------------------------------

EpochTotals::EpochTotals(const Trainer::Impl& m, const VariableStore& store, std::int64_t epoch, std::int64_t examples)
    : m_(m), store_(store), epoch_(epoch), examples_(examples), score_(m.tasks.front()),
      grad_norms_(m.param_names.size(), 0.0) {
  for (const auto& name : m.param_names) before_[name] = store.get(name).clone();
}

void EpochTotals::add(const StepResult& step, std::int64_t batch_size) {
  const auto count = static_cast<double>(batch_size);
  loss_sum_ += step.loss * count;
  objective_sum_ += step.objective * count;
  score_.merge(step.score);
  for (std::size_t k = 0; k < grad_norms_.size(); ++k) grad_norms_[k] += step.grad_norms[k];
  reports_.resize(step.reports.size());
  for (std::size_t j = 0; j < reports_.size(); ++j) reports_[j] += step.reports[j];
  ++batches_;
}

void EpochTotals::skip(std::int64_t batch_size) {
  ++skipped_, ++batches_;
  skipped_examples_ += batch_size;
}

void EpochTotals::add_host(double loss, double objective, double metric) {
  loss_sum_ = loss * static_cast<double>(examples_);  // the sums the minibatch loop keeps (divided below)
  objective_sum_ = objective * static_cast<double>(examples_);
  host_metric_ = metric;
  batches_ = 1;
}

EpochRecord EpochTotals::record(std::vector<std::pair<std::string, double>>& row,
                                std::map<std::string, double>& metrics) const {
  const std::string metric = Score(m_.tasks.front()).primary_name();  // accuracy, or rmse
  EpochRecord r;
  r.epoch = epoch_;
  const auto counted = static_cast<double>(examples_ - skipped_examples_);
  r.train_loss = loss_sum_ / counted;
  r.train_objective = objective_sum_ / counted;
  r.train_accuracy = m_.host ? host_metric_ : score_.primary();
  r.metric = metric;
  r.lr = store_.has("optimizer/lr") ? store_.get("optimizer/lr").get(0) : 0.0;
  row = {{"epoch", double(epoch_)},
         {"train_loss", r.train_loss},
         {"train_objective", r.train_objective},
         {"train_" + metric, r.train_accuracy}};
  metrics = {{"loss", r.train_loss}, {"objective", r.train_objective}, {metric, r.train_accuracy}};
  for (std::size_t j = 0; j < reports_.size(); ++j) {  // callbacks may monitor a reported value
    metrics[m_.report_names[j]] = reports_[j] / static_cast<double>(batches_ - skipped_);
  }
  if (!m_.host) metrics["lr"] = r.lr;
  return r;
}

void EpochTotals::add_validation(const Evaluation& v, EpochRecord& r, std::vector<std::pair<std::string, double>>& row,
                                 std::map<std::string, double>& metrics) const {
  r.val_loss = v.loss, r.val_accuracy = v.accuracy, r.val_metrics = v.metrics;
  row.insert(row.end(), {{"val_loss", v.loss}, {"val_" + r.metric, v.accuracy}});
  metrics["val_loss"] = v.loss;
  metrics["val_" + r.metric] = v.accuracy;
  if (m_.outputs.size() > 1 || m_.tasks.front() != Task::classification) {
    for (const auto& [name, value] : v.metrics) {
      row.emplace_back("val_" + name, value);
      metrics["val_" + name] = value;
    }
  }
}

void EpochTotals::finish_row(std::vector<std::pair<std::string, double>>& row, const EpochRecord& r,
                             const TrainerOptions& o, const StepClocks& clocks) const {
  // the step count and the seconds since training began (over resumed runs too), the axes on which
  // runs of different batch sizes compare
  row.insert(row.end(), {{"lr", r.lr},
                         {"seconds", r.seconds},
                         {"step_seconds", clocks.steps},
                         {"step", static_cast<double>(m_.steps)},
                         {"elapsed", m_.elapsed + r.seconds}});
  if (o.communicator != nullptr && o.communicator->size() > 1) row.emplace_back("comm_seconds", clocks.comm);
  if (o.nan_policy == TrainerOptions::NanPolicy::skip_step) row.emplace_back("skipped_steps", static_cast<double>(skipped_));
  for (std::size_t k = 0; k < m_.param_names.size(); ++k) {
    const std::string& name = m_.param_names[k];
    const auto [update, weight] = update_and_weight_norms(store_.get(name), before_.at(name));
    if (!m_.host) row.emplace_back("grad_norm/" + name, grad_norms_[k] / static_cast<double>(batches_ - skipped_));
    row.emplace_back("update_ratio/" + name, weight > 0 ? update / weight : update);
  }
  for (std::size_t j = 0; j < reports_.size(); ++j) {
    row.emplace_back(m_.report_names[j], reports_[j] / static_cast<double>(batches_ - skipped_));
  }
}

}  // namespace symgrad::trainer_detail
