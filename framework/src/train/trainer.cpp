#include "symgrad/train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <utility>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/hash.hpp"
#include "symgrad/core/random.hpp"
#include "symgrad/io/variables_file.hpp"
#include "metrics.hpp"
#include "non_finite.hpp"
#include "trainer_impl.hpp"

namespace symgrad {

using trainer_detail::all_finite;
using trainer_detail::build;
using trainer_detail::draw_random_inputs;
using trainer_detail::data_feeds;
using trainer_detail::Score;

namespace {

// A metrics file in CSV and JSON lines, with the columns of its first row.
class MetricsFile {
 public:
  // `append`: a resumed run adds to the files of the run it continues
  void open(const std::filesystem::path& base, bool append) {
    const std::string csv = base.string() + ".csv";
    header_ = append && std::filesystem::exists(csv) && std::filesystem::file_size(csv) > 0;
    const auto mode = append ? std::ios::app : std::ios::trunc;
    csv_.open(csv, std::ios::out | mode);
    jsonl_.open(base.string() + ".jsonl", std::ios::out | mode);
    if (!csv_ || !jsonl_) throw Error(fmt::format("cannot write metrics at '{}'", base.string()));
  }
  void write(const std::vector<std::pair<std::string, double>>& row) {
    if (!csv_.is_open()) return;
    if (!header_) {
      for (std::size_t i = 0; i < row.size(); ++i) csv_ << (i ? "," : "") << row[i].first;
      csv_ << "\n";
      header_ = true;
    }
    std::string json = "{";
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::string v = std::isfinite(row[i].second) ? fmt::format("{:.17g}", row[i].second) : "null";
      csv_ << (i ? "," : "") << (std::isfinite(row[i].second) ? v : "nan");
      json += fmt::format("{}\"{}\": {}", i ? ", " : "", row[i].first, v);
    }
    csv_ << "\n";
    jsonl_ << json << "}\n";
    csv_.flush();
    jsonl_.flush();
  }

 private:
  std::ofstream csv_, jsonl_;
  bool header_ = false;
};

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

// Every classification target of `d` is a class of its output (an output [N, C]): one that is
// not is named with its example, before a kernel meets it in the middle of a step; and every array
// the model reads is there.
void check_targets(const Trainer::Impl& m, const Dataset& d, const char* role) {
  for (const auto& name : m.data_names) {
    try {
      d.array(name);
    } catch (const UsageError& e) {
      throw UsageError(fmt::format("{}data: {} (the model reads it as an input or a loss's target)", role, e.what()));
    }
  }
  for (std::size_t k = 0; k < m.tasks.size(); ++k) {
    if (m.tasks[k] != Task::classification) continue;
    const Tensor& t = d.array(m.targets[k]);
    if (t.dtype() != DType::i32 || t.shape().rank() != 1) {
      throw UsageError(fmt::format("{}data '{}': the target '{}' of output '{}' is {}; a classification loss takes "
                                   "integer classes i32[N]",
                                   role, d.name, m.targets[k], m.outputs[k], t.type().to_string()));
    }
    const std::int64_t classes = m.classes[k];
    const std::int32_t* label = t.data<std::int32_t>();
    for (std::int64_t i = 0; i < d.size(); ++i) {
      if (label[i] < 0 || label[i] >= classes) {
        throw UsageError(fmt::format("{}data '{}': example {} has label {}, but the model has {} classes (its output "
                                     "'{}' has {} columns; labels are 0 to {})",
                                     role, d.name, i, label[i], classes, m.outputs[k], classes, classes - 1));
      }
    }
  }
}

// Data-parallel training (TrainerOptions::communicator). Rows [lo, hi) of a global batch of `size`
// are this rank's: the first size % ranks ranks take one more.
std::pair<std::int64_t, std::int64_t> shard_of(std::int64_t size, int rank, int ranks) {
  const std::int64_t base = size / ranks, extra = size % ranks;
  const std::int64_t lo = rank * base + std::min<std::int64_t>(rank, extra);
  return {lo, lo + base + (rank < extra ? 1 : 0)};
}

Tensor rows_of(const Tensor& t, std::int64_t lo, std::int64_t hi) {
  std::vector<std::int64_t> dims;
  for (std::size_t i = 0; i < t.shape().rank(); ++i) dims.push_back(t.shape()[i]);
  const std::size_t row = t.nbytes() / static_cast<std::size_t>(dims[0]);
  dims[0] = hi - lo;
  Tensor out(t.dtype(), Shape(dims));
  std::memcpy(out.raw(), static_cast<const char*>(t.raw()) + row * static_cast<std::size_t>(lo), out.nbytes());
  return out;
}

// Before the first step: every rank must train the same thing, and starts from rank 0's variables.
// The checks that compare ranks come first: a rank that stopped alone would leave the others
// waiting in a collective call.
void start_data_parallel(Trainer::Impl& m, Communicator& comm, const Dataset& train, std::int64_t batch,
                         VariableStore& store) {
  auto same = [&](std::uint64_t fingerprint, const char* what) {
    if (!comm.all_equal(fingerprint)) {
      throw UsageError(fmt::format("the {} processes disagree on {} ({}); give every rank the same experiment and data",
                                   comm.size(), what, comm.describe()));
    }
  };
  same(static_cast<std::uint64_t>(train.size()), "the number of training examples");
  const std::int64_t last = train.size() % batch;
  if (m.host) {  // one full batch an iteration, over the ranks' shards of the training set
    if (train.size() < comm.size()) {
      throw UsageError(fmt::format("{} processes cannot share {} training examples", comm.size(), train.size()));
    }
  } else if (batch < comm.size() || (last > 0 && last < comm.size())) {
    throw UsageError(fmt::format("{} processes cannot share batches of {} examples{}: every batch needs at least one "
                                 "example per process (change batch_size, or the number of processes)",
                                 comm.size(), batch < comm.size() ? batch : last,
                                 batch < comm.size() ? "" : fmt::format(" (the last of each epoch over {} examples)",
                                                                        train.size())));
  }
  Fnv1a layout;  // names, types: the model and its step
  const auto names = store.names();
  for (const auto& n : names) layout.add(n).add(store.get(n).type().to_string());
  same(layout.value(), "the model and its variables (a hash of their names and types)");
  Fnv1a bits;
  for (const auto& n : names) {  // rank 0's values everywhere, then checked: the same bits on every rank
    Tensor& t = store.get(n);
    comm.broadcast(t.raw(), t.nbytes(), 0);
    bits.add(t.raw(), t.nbytes());
  }
  same(bits.value(), "the parameters after rank 0's were sent (a hash of their bits)");
}

// A host-driven optimizer's full-batch objective over the ranks: each evaluates the mean over its
// shard of the training set, weighted by its share, and the values, gradients and products are
// summed over the ranks (every rank gets the same bits, so every rank's optimizer takes the same
// path).
class ShardedObjective final : public Objective {
 public:
  ShardedObjective(Objective& local, double share, Communicator& comm) : local_(local), share_(share), comm_(comm) {}
  std::size_t size() const override { return local_.size(); }
  double value(const std::vector<double>& x) override {
    double v = share_ * local_.value(x);
    comm_.allreduce_sum(&v, 1);
    return v;
  }
  double value_and_grad(const std::vector<double>& x, std::vector<double>& grad) override {
    const double v = local_.value_and_grad(x, grad);
    grad.push_back(v);
    for (double& g : grad) g *= share_;
    comm_.allreduce_sum(grad.data(), grad.size());
    const double sum = grad.back();
    grad.pop_back();
    return sum;
  }
  void hessian_vector_product(const std::vector<double>& x, const std::vector<double>& v,
                              std::vector<double>& hv) override {
    local_.hessian_vector_product(x, v, hv);
    sum(hv);
  }
  void hessian(const std::vector<double>& x, std::vector<double>& h) override {
    local_.hessian(x, h);
    sum(h);
  }

 private:
  void sum(std::vector<double>& v) {
    for (double& e : v) e *= share_;
    comm_.allreduce_sum(v.data(), v.size());
  }
  Objective& local_;
  double share_;
  Communicator& comm_;
};

// The buckets of data_parallel_step: the gradients packed in the order the gradient plan finishes
// them, cut into buckets of about `cap_bytes` (a bucket takes gradients until it holds the cap or
// more: the last one may take it past), as PyTorch DDP's bucket_cap_mb.
void plan_buckets(Trainer::Impl& m, std::size_t first, double cap_bytes) {
  const std::size_t n = m.param_names.size();
  m.gradient_offset.assign(n, 0);
  m.gradient_bucket.assign(n, 0);
  m.buckets.clear();
  std::size_t at = 0;
  for (std::size_t o : m.gradient_plan->output_order()) {
    if (o < first) continue;
    const std::size_t k = o - first;
    const TensorType type = m.training_step.raw_gradients[k].type();  // (a parameter's: static)
    const Trainer::Impl::Bucket* last = m.buckets.empty() ? nullptr : &m.buckets.back();
    if (last == nullptr || static_cast<double>((last->end - last->begin) * dtype_size(type.dtype)) >= cap_bytes) {
      m.buckets.push_back({at, at, 0, 0});
    }
    m.gradient_offset[k] = at;
    m.gradient_bucket[k] = m.buckets.size() - 1;
    at += static_cast<std::size_t>(type.shape.numel());
    m.buckets.back().end = at;
    ++m.buckets.back().size;
  }
}

// One step over this rank's rows of the batch: its gradients weighted by its share of the batch
// (plan gradient_plan), their sum over the ranks, then the update (plan step) from that sum. Each bucket
// of gradients starts its sum as soon as the plan has finished its last gradient, while the plan
// goes on with the rest of the backward pass (the loss, objective and right answers too, once the
// forward pass has them). The result has the one-process plan's layout: loss, objective (over the
// whole batch), logits (this rank's), gradient norms.
std::vector<Tensor> data_parallel_step(Trainer::Impl& m, Communicator& comm, const Feeds& feeds, std::int64_t size,
                                       VariableStore& store, double cap_bytes, Score& score, double& comm_seconds) {
  if (size < comm.size()) {
    throw UsageError(fmt::format("a batch of {} examples cannot be shared by {} processes: use a batch size (and a "
                                 "training set) whose every batch has at least one example per process",
                                 size, comm.size()));
  }
  const auto [lo, hi] = shard_of(size, comm.rank(), comm.size());
  Feeds local;
  for (const auto& feed : feeds) {
    const std::string& name = feed.first;  // (clang 14 does not capture structured bindings)
    const Tensor& t = feed.second;
    const bool data = std::find(m.data_names.begin(), m.data_names.end(), name) != m.data_names.end();
    const bool batched = data || std::any_of(m.train_forward.randoms.begin(), m.train_forward.randoms.end(), [&](const RandomInput& r) {
      return r.name == name && r.value.shape().rank() > 0 && r.value.shape()[0] == Shape::kOpen;
    });
    local[name] = batched ? rows_of(t, lo, hi) : t;
  }
  const double share = static_cast<double>(hi - lo) / static_cast<double>(size);
  local["shard/share"] = Tensor::scalar(m.training_step.raw_gradients[0].dtype(), share);
  constexpr std::size_t kFirst = 3;  // the gradient plan's outputs: loss, objective, first output, then the gradients
  const Tensor& target = local.at(m.targets.front());
  std::vector<double> scalars(2 + score.sums().size(), 0.0);
  std::size_t scalars_waiting = kFirst;
  double started = 0;  // seconds spent starting and moving the sums along inside the plan's run
  auto timed = [&](auto&& f) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    started += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<Tensor> finished(kFirst);  // (the outputs are also returned by run(); kept for the scalars)
  auto pack = [&](auto zero) {
    using T = decltype(zero);
    return [&, base = m.reduce_buffer<T>().data()](std::size_t o, const Tensor& value) {
      if (o < kFirst) {
        finished[o] = value;
        if (--scalars_waiting == 0) {
          Score mine(m.tasks.front());
          mine.add(finished[2], target);
          scalars = {finished[0].get(0) * share, finished[1].get(0) * share};
          scalars.insert(scalars.end(), mine.sums().begin(), mine.sums().end());
          timed([&] { comm.start_allreduce_sum(scalars.data(), scalars.size()); });
        }
        return;
      }
      const std::size_t k = o - kFirst;  // (already weighted by the share: StepSpec::gradients_as_inputs)
      std::memcpy(base + m.gradient_offset[k], value.raw(), value.nbytes());
      Trainer::Impl::Bucket& b = m.buckets[m.gradient_bucket[k]];
      if (--b.waiting == 0) {
        timed([&] { comm.start_allreduce_sum(base + b.begin, b.end - b.begin); });
      } else {
        timed([&] { comm.progress(); });
      }
    };
  };
  const bool f32 = m.training_step.raw_gradients[0].dtype() == DType::f32;
  if (m.buckets.empty()) {  // the first step: where each gradient goes
    plan_buckets(m, kFirst, cap_bytes);
    if (f32) {
      m.reduce_f32.assign(m.buckets.back().end, 0.0f);
    } else {
      m.reduce_f64.assign(m.buckets.back().end, 0.0);
    }
  }
  for (auto& b : m.buckets) b.waiting = b.size;
  const std::vector<Tensor>& a = f32 ? m.gradient_plan->run(local, &store, pack(0.0f))
                                     : m.gradient_plan->run(local, &store, pack(0.0));
  const auto wait_start = std::chrono::steady_clock::now();
  comm.wait_all();
  comm_seconds += started + std::chrono::duration<double>(std::chrono::steady_clock::now() - wait_start).count();
  std::copy(scalars.begin() + 2, scalars.end(), score.sums().begin());
  // the model's own state (batch norm's running statistics, from each rank's shard unless
  // synchronized) is rank 0's on every rank, as torch DDP's broadcast_buffers makes it
  for (const auto& state : m.train_forward.state_updates) {
    Tensor& t = store.get(state.first);
    comm.broadcast(t.raw(), t.nbytes(), 0);
  }
  // the summed gradients into the step's "grad/<parameter>" inputs (kept between steps)
  Feeds update = local;
  m.summed_gradients.resize(m.param_names.size());
  for (std::size_t k = 0; k < m.param_names.size(); ++k) {
    Tensor& sum = m.summed_gradients[k];
    const Tensor& g = a[kFirst + k];
    if (!sum.defined() || sum.type() != g.type()) sum = Tensor(g.type());
    const void* from = f32 ? static_cast<const void*>(m.reduce_f32.data() + m.gradient_offset[k])
                           : static_cast<const void*>(m.reduce_f64.data() + m.gradient_offset[k]);
    std::memcpy(sum.raw(), from, sum.nbytes());
    update["grad/" + m.param_names[k]] = sum;
  }
  // (the update plan is another plan: the gradient plan's logits stay valid through its run)
  std::vector<Tensor> out = {Tensor::scalar(DType::f64, scalars[0]), Tensor::scalar(DType::f64, scalars[1]), a[2]};
  for (const Tensor& t : m.step->run(update, &store)) out.push_back(t);
  return out;
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

// Runs the inference plan over `data` in batches (at least 256 examples) with the evaluation
// store; f(part, feeds, outputs) sees each batch's outputs (Trainer::Impl: the loss, each loss's
// output and term, the first loss's per-example values).
template <class F>
void for_each_eval_batch(const Trainer::Impl& m, VariableStore& view, const Dataset& data, const TrainerOptions& o, F&& f) {
  const std::int64_t n = data.size(), b = std::max<std::int64_t>(o.batch_size, 256);
  for (std::int64_t at = 0; at < n; at += b) {
    const Dataset part = data.rows(at, std::min(b, n - at));
    const Feeds feeds = data_feeds(m, part, o.dtype);
    f(part, feeds, m.eval->run(feeds, &view));
  }
}

}  // namespace

std::map<std::string, Tensor> Trainer::predict_all(const Dataset& data) {
  VariableStore view = evaluation_store();
  Impl& m = *impl_;
  if (!m.predict) {
    CompileOptions co;
    co.backend = options_.backend;
    co.precision = options_.precision;
    m.predict = std::make_unique<Plan>(compile(m.eval_graph, m.eval_outputs, co));
  }
  std::vector<Tensor> all(m.outputs.size());
  const std::int64_t n = data.size(), b = std::max<std::int64_t>(options_.batch_size, 256);
  for (std::int64_t at = 0; at < n; at += b) {
    const Dataset part = data.rows(at, std::min(b, n - at));
    Feeds feeds;
    for (const auto& name : m.input_names) {
      const Tensor& t = part.array(name);
      const bool real = t.dtype() == DType::f32 || t.dtype() == DType::f64;
      feeds[name] = real && t.dtype() != options_.dtype ? t.to(options_.dtype) : t;
    }
    const std::vector<Tensor>& out = m.predict->run(feeds, &view);
    for (std::size_t k = 0; k < out.size(); ++k) {
      const std::int64_t per = out[k].numel() / std::max<std::int64_t>(part.size(), 1);
      if (!all[k].defined()) {
        std::vector<std::int64_t> dims(out[k].shape().dims().begin(), out[k].shape().dims().end());
        dims[0] = n;
        all[k] = Tensor(DType::f64, Shape(dims));
      }
      double* dst = all[k].data<double>() + at * per;
      for (std::int64_t i = 0; i < part.size() * per; ++i) dst[i] = out[k].get(i);
    }
  }
  std::map<std::string, Tensor> named;
  for (std::size_t k = 0; k < all.size(); ++k) named[m.outputs[k]] = all[k];
  return named;
}

Tensor Trainer::predict(const Dataset& data) { return predict_all(data).at(impl_->outputs.front()); }

std::vector<std::pair<std::string, Task>> Trainer::output_tasks() {
  ensure_built();
  std::vector<std::pair<std::string, Task>> r;
  for (std::size_t k = 0; k < impl_->outputs.size(); ++k) r.emplace_back(impl_->outputs[k], impl_->tasks[k]);
  return r;
}

std::vector<double> Trainer::example_losses(const Dataset& data) {
  VariableStore view = evaluation_store();
  std::vector<double> losses;
  losses.reserve(static_cast<std::size_t>(data.size()));
  for_each_eval_batch(*impl_, view, data, options_, [&](const Dataset& part, const Feeds&, const std::vector<Tensor>& out) {
    const Tensor& per_example = out.back();
    for (std::int64_t i = 0; i < part.size(); ++i) losses.push_back(per_example.get(i));
  });
  return losses;
}

Evaluation Trainer::evaluate(const Dataset& data) {
  VariableStore view = evaluation_store();
  const Impl& m = *impl_;
  check_targets(m, data, "");
  const std::size_t k = m.outputs.size();
  double loss = 0;
  std::vector<double> terms(k, 0.0);
  std::vector<Score> scores;
  for (Task t : m.tasks) scores.emplace_back(t);
  for_each_eval_batch(m, view, data, options_, [&](const Dataset& part, const Feeds& feeds, const std::vector<Tensor>& out) {
    const auto rows = static_cast<double>(part.size());
    loss += out[0].get(0) * rows;
    for (std::size_t i = 0; i < k; ++i) {
      scores[i].add(out[1 + i], feeds.at(m.targets[i]));
      terms[i] += out[1 + k + i].get(0) * rows;
    }
  });
  const auto n = static_cast<double>(data.size());
  Evaluation e;
  e.loss = loss / n;
  e.accuracy = scores.front().primary();
  e.metric = scores.front().primary_name();
  for (std::size_t i = 0; i < k; ++i) {
    e.metrics[m.outputs[i] + "/loss"] = terms[i] / n;
    for (const auto& [name, value] : scores[i].metrics()) e.metrics[m.outputs[i] + "/" + name] = value;
  }
  return e;
}

std::vector<EpochRecord> Trainer::fit(const Dataset& train, const Dataset* validation) {
  if (train.size() == 0) throw UsageError("the training set is empty");
  ensure_built();
  Impl& m = *impl_;
  check_targets(m, train, "training ");
  const std::string metric = Score(m.tasks.front()).primary_name();  // accuracy, or rmse
  if (validation != nullptr) check_targets(m, *validation, "validation ");
  MetricsFile step_file, epoch_file;
  if (!options_.output_dir.empty()) {
    std::filesystem::create_directories(options_.output_dir);
    const bool resumed = m.epochs_done > 0 || m.batch_in_epoch > 0;
    step_file.open(std::filesystem::path(options_.output_dir) / "metrics-steps", resumed);
    epoch_file.open(std::filesystem::path(options_.output_dir) / "metrics-epochs", resumed);
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
    // the epoch's order: a seeded shuffle (Fisher-Yates), then the extensions' say (curriculum)
    EpochData epoch_data{epoch, std::vector<std::int64_t>(static_cast<std::size_t>(train.size())),
                         derive_seed(options_.seed, fmt::format("epoch/{}", epoch)), &train.features, &train.labels,
                         [&] { return example_losses(train); }};
    std::vector<std::int64_t>& order = epoch_data.order;
    std::iota(order.begin(), order.end(), 0);
    Random shuffle(epoch_data.seed);
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle.below(i)]);
    for (const auto& e : m.extensions) e.extension->order_epoch(epoch_data);
    if (order.empty()) throw UsageError(fmt::format("epoch {} has no examples left after the extensions' ordering", epoch));
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
      double share = 1;
      if (!m.full_batch) {
        Dataset part = train;  // data-parallel: this rank's rows
        if (comm != nullptr) {
          const auto [lo, hi] = shard_of(train.size(), comm->rank(), comm->size());
          part = train.rows(lo, hi - lo);
        }
        m.full_batch = std::make_unique<GraphObjective>(m.train_graph, m.objective, m.param_values, store_,
                                                        data_feeds(m, part, options_.dtype),
                                                        options_.backend);
      }
      if (comm != nullptr) {
        const auto [lo, hi] = shard_of(train.size(), comm->rank(), comm->size());
        share = static_cast<double>(hi - lo) / static_cast<double>(train.size());
      }
      std::vector<double> x = m.full_batch->current();
      std::unique_ptr<ShardedObjective> sharded;
      if (comm != nullptr) sharded = std::make_unique<ShardedObjective>(*m.full_batch, share, *comm);
      Objective& f = sharded ? static_cast<Objective&>(*sharded) : *m.full_batch;
      const double objective = m.host->iterate(f, x);
      m.full_batch->assign(x);
      if (!std::isfinite(objective)) {
        throw Error(fmt::format("training diverged at epoch {}: the objective is {}", epoch, objective));
      }
      const Evaluation now = evaluate(train);  // the data loss and accuracy at the new point
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
                                 what, checkpoint.empty() ? "nothing was saved" :
                                                            fmt::format("the last checkpoint, {}, is untouched", checkpoint)));
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

namespace {
constexpr const char* kEpoch = "trainer/epochs_done";
constexpr const char* kBatch = "trainer/batch_in_epoch";
constexpr const char* kSteps = "trainer/steps";
}  // namespace

void Trainer::save_checkpoint(const std::string& path) {
  if (!impl_->incomplete.empty()) {
    throw Error(fmt::format("not saving a checkpoint to '{}': {} and the store holds part of it", path, impl_->incomplete));
  }
  VariableStore all;
  for (const auto& n : store_.names()) all.set(n, store_.get(n));
  all.set(kEpoch, Tensor::scalar(DType::i64, static_cast<double>(impl_->epochs_done)));
  all.set(kBatch, Tensor::scalar(DType::i64, static_cast<double>(impl_->batch_in_epoch)));
  all.set(kSteps, Tensor::scalar(DType::i64, static_cast<double>(impl_->steps)));
  save_variables(all, path);
}

namespace {
// "; KIND (N): a, b, ... and M more" for an error message (nothing when `names` is empty).
std::string name_list(const std::string& kind, const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 6; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 6) out += fmt::format(" and {} more", names.size() - 6);
  return fmt::format("; {} ({}): {}", kind, names.size(), out);
}
// "'name' is f32[2, 32] in the file, f32[2, 16] in the model" for each variable both hold with
// different types.
std::vector<std::string> type_mismatches(const VariableStore& model, const VariableStore& loaded) {
  std::vector<std::string> out;
  for (const auto& n : loaded.names()) {
    if (model.has(n) && model.get(n).type() != loaded.get(n).type()) {
      out.push_back(fmt::format("'{}' is {} in the file, {} in the model", n, loaded.get(n).type().to_string(),
                                model.get(n).type().to_string()));
    }
  }
  return out;
}
}  // namespace

// `loaded` must hold every variable of the model and its step, of the same type; an extension may
// keep more under its own name (early_stopping/best_epoch); the trainer's position is not checked.
void Trainer::check_model_file(const VariableStore& loaded, const std::string& path, const char* what) const {
  std::vector<std::string> missing, unexpected;
  const std::vector<std::string> mismatched = type_mismatches(store_, loaded);
  for (const auto& n : store_.names()) {
    if (!loaded.has(n)) missing.push_back(n);
  }
  for (const auto& n : loaded.names()) {
    if (n.rfind("trainer/", 0) == 0 || store_.has(n)) continue;
    const bool extensions_own = std::any_of(impl_->extensions.begin(), impl_->extensions.end(), [&](const NamedExtension& e) {
      return !e.name.empty() && n.rfind(e.name + "/", 0) == 0;
    });
    if (!extensions_own) unexpected.push_back(n);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    throw Error(fmt::format("'{}' is not {} of this model{}{}{}", path, what, name_list("missing from the file", missing),
                            name_list("in the file, not in the model", unexpected),
                            name_list("of another shape or type", mismatched)));
  }
}

// Evaluation needs the variables its plan reads, of the model's types; the file may hold more (an
// optimizer's slots, another optimizer's), which are loaded where the model has them.
void Trainer::load_variables(const std::string& path) {
  VariableStore loaded = symgrad::load_variables(path);
  prepare();
  std::vector<std::string> missing;
  const std::vector<std::string> mismatched = type_mismatches(store_, loaded);
  for (const auto& n : impl_->eval->variable_names()) {
    if (!loaded.has(n)) missing.push_back(n);
  }
  if (!missing.empty() || !mismatched.empty()) {
    throw Error(fmt::format("'{}' is not a variables file of this model{}{}", path,
                            name_list("missing from the file", missing), name_list("of another shape or type", mismatched)));
  }
  for (const auto& n : loaded.names()) {
    if (store_.has(n)) store_.set(n, loaded.get(n));
  }
}

void Trainer::load_checkpoint(const std::string& path) {
  VariableStore loaded = symgrad::load_variables(path);
  for (const char* k : {kEpoch, kBatch, kSteps}) {
    if (!loaded.has(k)) throw Error(fmt::format("'{}' is not a trainer checkpoint (no '{}')", path, k));
  }
  // The file must be this model's: every variable the model and its step use, of the same type.
  prepare();
  check_model_file(loaded, path, "a checkpoint");
  impl_->epochs_done = static_cast<std::int64_t>(loaded.get(kEpoch).get(0));
  impl_->batch_in_epoch = static_cast<std::int64_t>(loaded.get(kBatch).get(0));
  impl_->steps = static_cast<std::int64_t>(loaded.get(kSteps).get(0));
  for (const auto& n : loaded.names()) {
    if (n.rfind("trainer/", 0) != 0) store_.set(n, loaded.get(n));
  }
}

std::int64_t Trainer::epochs_done() const { return impl_->epochs_done; }
bool Trainer::stopped_early() const { return impl_->stopped; }
const std::string& Trainer::stopped_by() const { return impl_->stopped_by; }
std::int64_t Trainer::skipped_steps() const { return impl_->skipped_steps; }

}  // namespace symgrad
