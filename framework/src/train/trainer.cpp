#include "symgrad/train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <utility>

#include <fmt/format.h>

#include "symgrad/autodiff/gradients.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/core/random.hpp"
#include "symgrad/io/variables_file.hpp"
#include "symgrad/ops/ops.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/lr_schedule.hpp"
#include "symgrad/train/objective.hpp"
#include "symgrad/train/training_step.hpp"

namespace symgrad {

namespace {

Shape batch_shape(const TensorType& example) {
  std::vector<std::int64_t> d = {Shape::kOpen};
  d.insert(d.end(), example.shape.dims().begin(), example.shape.dims().end());
  return Shape(d);
}

// Correct predictions: argmax of each row of logits [B, C] against labels [B].
std::int64_t correct(const Tensor& logits, const Tensor& labels) {
  const std::int64_t b = logits.shape()[0], c = logits.shape()[1];
  std::int64_t n = 0;
  for (std::int64_t i = 0; i < b; ++i) {
    std::int64_t best = 0;
    for (std::int64_t j = 1; j < c; ++j) {
      if (logits.get(i * c + j) > logits.get(i * c + best)) best = j;
    }
    n += best == static_cast<std::int64_t>(labels.get(i));
  }
  return n;
}

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

// The random inputs of one step, drawn in the order declared from one generator (a step's
// seed): keep masks (1 with probability 1 - p) and Gaussian noise (standard deviation p).
void draw_random_inputs(const std::vector<RandomInput>& randoms, std::int64_t batch, std::uint64_t seed, Feeds& feeds) {
  Random rng(seed);
  for (const auto& r : randoms) {
    std::vector<std::int64_t> dims;
    for (std::size_t i = 0; i < r.value.shape().rank(); ++i) {
      dims.push_back(r.value.shape()[i] == Shape::kOpen ? batch : r.value.shape()[i]);
    }
    Tensor t(r.value.dtype(), Shape(dims));  // every step: typed loops, not Tensor::set
    auto draw = [&](auto* v) {
      using T = std::remove_pointer_t<decltype(v)>;
      if (r.kind == RandomInput::Kind::keep_mask) {
        for (std::int64_t i = 0; i < t.numel(); ++i) v[i] = rng.uniform() >= r.p ? 1 : 0;
      } else {
        for (std::int64_t i = 0; i < t.numel(); ++i) v[i] = static_cast<T>(r.p * rng.normal());
      }
    };
    if (t.dtype() == DType::f32) {
      draw(t.data<float>());
    } else {
      draw(t.data<double>());
    }
    feeds[r.name] = t;
  }
}

}  // namespace

struct Trainer::Impl {
  Graph train_graph, eval_graph;
  std::unique_ptr<Plan> step, eval;
  Forward train_forward;
  TrainingStep training_step;
  // a host-driven optimizer: one iteration an epoch over the full training set's objective
  std::unique_ptr<HostOptimizer> host;
  Value objective;
  std::vector<Value> param_values;
  std::unique_ptr<GraphObjective> full_batch;
  std::unique_ptr<Plan> state_plan;  // the model's state updates alone (recompute_state)
  std::vector<std::string> warnings;
  std::string incomplete;  // set when a step failed after updating variables in place
  std::unique_ptr<LrSchedule> schedule;
  std::vector<std::string> param_names;
  std::vector<NamedExtension> extensions;  // take part in building (before build) and in fit
  std::vector<TrainingCallbacks*> callbacks;
  bool built = false;
  std::int64_t steps = 0;      // optimizer steps taken
  std::int64_t epochs_done = 0;
  std::int64_t batch_in_epoch = 0;  // batches of epoch epochs_done + 1 already taken (a mid-epoch stop)
  bool stopped = false;
};

Trainer::Trainer(Sequential model, TensorType example, std::int64_t num_classes, TrainerOptions options)
    : impl_(std::make_unique<Impl>()), model_(std::move(model)), example_(std::move(example)),
      num_classes_(num_classes), options_(std::move(options)) {
  if (model_.empty()) throw UsageError("the trainer needs a model with at least one layer");
  if (options_.epochs < 0 || options_.batch_size < 1) {
    throw UsageError(fmt::format("epochs must be >= 0 and batch_size >= 1, got {} and {}", options_.epochs,
                                 options_.batch_size));
  }
  if (!options_.schedule.empty()) impl_->schedule = make_lr_schedule(options_.schedule, options_.schedule_settings);
}

Trainer::~Trainer() = default;

void Trainer::add(Extension& extension, const std::string& name) {
  if (!impl_->built) {
    impl_->extensions.push_back({name.empty() ? fmt::format("extension{}", impl_->extensions.size() + 1) : name, &extension});
  }
  impl_->callbacks.push_back(&extension);
}

namespace {

// True when every unit of a weight starts identical: the columns of a dense W [in, units], the
// output channels of a convolution W [out, in, kh, kw] (more than one unit).
bool units_identical(const Tensor& w) {
  const auto& s = w.shape();
  if (s.rank() != 2 && s.rank() != 4) return false;
  const std::int64_t units = s.rank() == 2 ? s[1] : s[0], n = w.numel();
  if (units < 2) return false;
  for (std::int64_t i = 0; i < n; ++i) {
    // element i's unit and its place within the unit; compare with unit 0 at the same place
    const std::int64_t first = s.rank() == 2 ? i - i % units : i % (n / units);
    if (w.get(i) != w.get(first)) return false;
  }
  return true;
}

void build_eval(Trainer::Impl& m, const Sequential& model, const TensorType& x_type, const TensorType& y_type,
                const TrainerOptions& o, const std::vector<Extension*>& hooks, VariableStore& store);

// A host-driven optimizer minimizes the full training set's objective (loss and penalties) from
// its own loop: nothing random, no state the step updates, no per-step transforms.
void build_host_driven(Trainer::Impl& m, const TrainerOptions& o, Value objective, const std::vector<NamedParam>& params) {
  const std::string why = fmt::format("optimizer '{}' is host-driven: it minimizes the whole training set's objective, "
                                      "one iteration an epoch, so ",
                                      o.optimizer);
  if (!m.train_forward.randoms.empty()) throw UsageError(why + "the model can have no dropout or noise (random per step)");
  if (!m.train_forward.state_updates.empty()) {
    throw UsageError(why + "the model can have no batch normalization (running statistics follow minibatch steps)");
  }
  if (o.clip_norm > 0 || o.clip_value > 0 || !o.groups.empty() || !o.schedule.empty()) {
    throw UsageError(why + "gradient clipping, parameter groups and learning-rate schedules do not apply");
  }
  m.host = PluginRegistry::global().make_host_optimizer(o.optimizer, o.optimizer_settings);
  m.objective = objective;
  for (const auto& p : params) m.param_values.push_back(p.value);
}

// The training step's graph: loss, penalties, gradients, update, extensions; and the inference
// graph, built from the same model and hooks.
void build(Trainer::Impl& m, const Sequential& model, const TensorType& example, const TrainerOptions& o,
           VariableStore& store) {
  const TensorType x_type{o.dtype, batch_shape(example)};
  const TensorType y_type{DType::i32, Shape{Shape::kOpen}};
  std::vector<Extension*> hooks;
  for (const auto& e : m.extensions) hooks.push_back(e.extension);
  {
    Graph& g = m.train_graph;
    Value x = g.input("x", x_type), y = g.input("y", y_type);
    m.train_forward = model.build(x, Mode::train, hooks);
    Value loss = mean(softmax_cross_entropy(m.train_forward.logits, y));
    Value objective = loss;
    for (Value pen : m.train_forward.penalties) objective = objective + pen;
    std::vector<NamedParam> named;
    for (const auto& p : m.train_forward.params) {
      if (!p.trainable) continue;  // state the model updates itself
      named.push_back({p.value.producer().name, p.value});
      m.param_names.push_back(p.value.producer().name);
    }
    for (Extension* e : hooks) {
      Value pen = e->penalty(g, named);
      if (pen.valid()) objective = objective + pen;
    }
    if (PluginRegistry::global().get(ComponentKind::optimizer, o.optimizer).host_driven) {
      build_host_driven(m, o, objective, named);
      return build_eval(m, model, x_type, y_type, o, hooks, store);
    }
    StepSpec spec{o.optimizer, o.optimizer_settings, o.groups, o.clip_norm, o.clip_value};
    m.training_step = build_training_step(g, objective, named, spec, m.extensions, store, m.train_forward.state_updates);
    CompileOptions co;
    co.backend = o.backend;
    co.updates = m.training_step.updates;
    std::vector<Value> outs = {loss, objective, m.train_forward.logits};
    for (const auto& gr : m.training_step.gradients) outs.push_back(sqrt(sum(square(gr))));  // per-parameter norms
    m.step = std::make_unique<Plan>(compile(g, outs, co));
  }
  build_eval(m, model, x_type, y_type, o, hooks, store);
}

// The evaluation graph and plan, and the parameters' first values.
void build_eval(Trainer::Impl& m, const Sequential& model, const TensorType& x_type, const TensorType& y_type,
                const TrainerOptions& o, const std::vector<Extension*>& hooks, VariableStore& store) {
  {
    Graph& g = m.eval_graph;
    Value x = g.input("x", x_type), y = g.input("y", y_type);
    Forward f = model.build(x, Mode::eval, hooks);
    CompileOptions co;
    co.backend = o.backend;
    m.eval = std::make_unique<Plan>(compile(g, {mean(softmax_cross_entropy(f.logits, y)), f.logits}, co));
  }
  // First values: the initializer for weights, zeros for biases (a store that has them keeps them).
  auto init = PluginRegistry::global().make_initializer(o.initializer, o.initializer_settings);
  for (const auto& p : m.train_forward.params) {
    const std::string& name = p.value.producer().name;
    if (store.has(name)) continue;
    if (p.start == ParamInfo::Start::initializer) {
      store.set(name, init->initial_value(InitRequest{name, p.value.type(), p.fan_in, p.fan_out, o.seed}));
    } else {
      Tensor t(p.value.type());
      t.fill(p.start == ParamInfo::Start::ones ? 1.0 : 0.0);
      store.set(name, t);
    }
  }
  for (const auto& p : m.train_forward.params) {
    const std::string& name = p.value.producer().name;
    if (p.start == ParamInfo::Start::initializer && units_identical(store.get(name))) {
      m.warnings.push_back(fmt::format("every unit of '{}' starts identical (initializer '{}'): they compute the same "
                                       "function and get the same gradient, so symmetry is never broken",
                                       name, o.initializer));
    }
  }
  fill_state_copies(m.training_step, store);  // extension state that starts as a parameter
  m.built = true;
}

// The features in the training dtype (data sets hold f32).
Tensor features_of(const Dataset& d, DType dtype) { return dtype == d.features.dtype() ? d.features : d.features.to(dtype); }

}  // namespace

void Trainer::recompute_state(const Dataset& data) {
  if (!impl_->built) build(*impl_, model_, example_, options_, store_);
  Impl& m = *impl_;
  if (m.train_forward.state_updates.empty() || data.size() == 0) return;
  if (!m.state_plan) {
    CompileOptions co;
    co.backend = options_.backend;
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
    Feeds feeds = {{"x", features_of(part, options_.dtype)}, {"y", part.labels}};
    draw_random_inputs(m.train_forward.randoms, part.size(), derive_seed(options_.seed, fmt::format("recompute/{}", k)),
                       feeds);
    m.state_plan->run(feeds, &view);
  }
}

void Trainer::prepare() {
  if (!impl_->built) build(*impl_, model_, example_, options_, store_);
}

const std::vector<std::string>& Trainer::warnings() const { return impl_->warnings; }

VariableStore Trainer::evaluation_store() {
  if (!impl_->built) build(*impl_, model_, example_, options_, store_);
  return evaluation_view(store_, impl_->training_step.evaluation_variables);
}

namespace {

// Runs the inference plan over `data` in batches (at least 256 examples) with the evaluation
// store; f(part, outputs) sees each batch's mean loss and logits.
template <class F>
void for_each_eval_batch(Plan& eval, VariableStore& view, const Dataset& data, const TrainerOptions& o, F&& f) {
  const std::int64_t n = data.size(), b = std::max<std::int64_t>(o.batch_size, 256);
  for (std::int64_t at = 0; at < n; at += b) {
    const Dataset part = data.rows(at, std::min(b, n - at));
    f(part, eval.run({{"x", features_of(part, o.dtype)}, {"y", part.labels}}, &view));
  }
}

}  // namespace

Tensor Trainer::predict(const Dataset& data) {
  VariableStore view = evaluation_store();
  Tensor all;
  std::int64_t row = 0;
  for_each_eval_batch(*impl_->eval, view, data, options_, [&](const Dataset& part, const std::vector<Tensor>& out) {
    const Tensor& logits = out[1];
    const std::int64_t c = logits.shape()[1];
    if (!all.defined()) all = Tensor(DType::f64, Shape{data.size(), c});
    for (std::int64_t i = 0; i < part.size() * c; ++i) all.set(row * c + i, logits.get(i));
    row += part.size();
  });
  return all;
}

std::vector<double> Trainer::example_losses(const Dataset& data) {
  VariableStore view = evaluation_store();
  std::vector<double> losses;
  losses.reserve(static_cast<std::size_t>(data.size()));
  for_each_eval_batch(*impl_->eval, view, data, options_, [&](const Dataset& part, const std::vector<Tensor>& out) {
    const Tensor& logits = out[1];
    const std::int64_t c = logits.shape()[1];
    for (std::int64_t i = 0; i < part.size(); ++i) {  // log sum exp(z) - z_label, stably
      double top = logits.get(i * c);
      for (std::int64_t j = 1; j < c; ++j) top = std::max(top, logits.get(i * c + j));
      double s = 0;
      for (std::int64_t j = 0; j < c; ++j) s += std::exp(logits.get(i * c + j) - top);
      losses.push_back(top + std::log(s) - logits.get(i * c + static_cast<std::int64_t>(part.labels.get(i))));
    }
  });
  return losses;
}

Evaluation Trainer::evaluate(const Dataset& data) {
  VariableStore view = evaluation_store();
  double loss = 0;
  std::int64_t right = 0;
  for_each_eval_batch(*impl_->eval, view, data, options_, [&](const Dataset& part, const std::vector<Tensor>& out) {
    loss += out[0].get(0) * static_cast<double>(part.size());
    right += correct(out[1], part.labels);
  });
  Evaluation e;
  e.loss = loss / static_cast<double>(data.size());
  e.accuracy = static_cast<double>(right) / static_cast<double>(data.size());
  return e;
}

std::vector<EpochRecord> Trainer::fit(const Dataset& train, const Dataset* validation) {
  if (train.size() == 0) throw UsageError("the training set is empty");
  if (!impl_->built) build(*impl_, model_, example_, options_, store_);
  Impl& m = *impl_;
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
    std::int64_t right = 0;
    std::vector<double> grad_norms(m.param_names.size(), 0.0);
    std::int64_t batches = 0;
    const std::int64_t skip = std::exchange(m.batch_in_epoch, 0);  // resuming inside this epoch
    if (m.host) {  // one iteration of the host-driven optimizer over the whole training set
      event.step = m.steps;
      for (auto* c : m.callbacks) c->on_step_begin(event);
      if (!m.full_batch) {
        m.full_batch = std::make_unique<GraphObjective>(m.train_graph, m.objective, m.param_values, store_,
                                                        Feeds{{"x", features_of(train, options_.dtype)}, {"y", train.labels}},
                                                        options_.backend);
      }
      std::vector<double> x = m.full_batch->current();
      const double objective = m.host->iterate(*m.full_batch, x);
      m.full_batch->assign(x);
      if (!std::isfinite(objective)) {
        throw Error(fmt::format("training diverged at epoch {}: the objective is {}", epoch, objective));
      }
      const Evaluation now = evaluate(train);  // the data loss and accuracy at the new point
      // the epoch's sums, as the minibatch loop keeps them (divided by n below)
      loss_sum = now.loss * static_cast<double>(n);
      objective_sum = objective * static_cast<double>(n);
      right = std::llround(now.accuracy * static_cast<double>(n));
      batches = 1;
      ++m.steps;
      event.step = m.steps;
      event.metrics = {{"loss", now.loss}, {"objective", objective}, {"accuracy", now.accuracy}};
      step_file.write({{"epoch", double(epoch)}, {"step", double(m.steps)}, {"loss", now.loss}, {"objective", objective},
                       {"accuracy", now.accuracy}});
      for (auto* c : m.callbacks) c->on_step_end(event);
    }
    for (std::int64_t at = skip * b; at < n && !event.stop && !m.host; at += b) {
      const std::vector<std::int64_t> index(order.begin() + at, order.begin() + std::min(n, at + b));
      const Dataset batch = train.gather(index);
      Feeds feeds = {{"x", features_of(batch, options_.dtype)}, {"y", batch.labels}};
      if (!m.extensions.empty()) {  // the batch is its own copy (gathered): transformed in place
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
      try {
        result = &m.step->run(feeds, &store_);
      } catch (const std::exception& e) {
        throw incomplete(fmt::format("training failed at epoch {}, step {}: {}", epoch, m.steps + 1, e.what()));
      }
      const auto& out = *result;
      const double loss = out[0].get(0), objective = out[1].get(0);
      if (!std::isfinite(objective)) {
        throw incomplete(fmt::format("training diverged at epoch {}, step {}: the loss is {} (lower the learning rate?)",
                                     epoch, m.steps + 1, objective));
      }
      const auto count = static_cast<double>(batch.size());
      loss_sum += loss * count;
      objective_sum += objective * count;
      const std::int64_t batch_right = correct(out[2], batch.labels);
      right += batch_right;
      for (std::size_t k = 0; k < grad_norms.size(); ++k) grad_norms[k] += out[3 + k].get(0);
      ++batches;
      ++m.steps;
      event.step = m.steps;
      event.metrics = {{"loss", loss},
                       {"objective", objective},
                       {"accuracy", static_cast<double>(batch_right) / count},
                       {"lr", store_.get("optimizer/lr").get(0)}};
      step_file.write({{"epoch", double(epoch)}, {"step", double(m.steps)}, {"loss", loss}, {"objective", objective},
                       {"accuracy", event.metrics["accuracy"]}, {"lr", event.metrics["lr"]}});
      for (auto* c : m.callbacks) c->on_step_end(event);
      if (event.stop && at + b < n) {  // stopped inside the epoch: keep the place and leave
        m.batch_in_epoch = skip + batches;
        m.stopped = true;
        if (!checkpoint.empty()) save_checkpoint(checkpoint);
        for (auto* c : m.callbacks) c->on_train_end(event);
        return records;
      }
    }
    for (auto* c : m.callbacks) c->on_epoch_trained(event);
    EpochRecord r;
    r.epoch = epoch;
    r.train_loss = loss_sum / static_cast<double>(n);
    r.train_objective = objective_sum / static_cast<double>(n);
    r.train_accuracy = static_cast<double>(right) / static_cast<double>(n);
    r.lr = store_.has("optimizer/lr") ? store_.get("optimizer/lr").get(0) : 0.0;
    std::vector<std::pair<std::string, double>> row = {{"epoch", double(epoch)},
                                                      {"train_loss", r.train_loss},
                                                      {"train_objective", r.train_objective},
                                                      {"train_accuracy", r.train_accuracy}};
    event.metrics = {{"loss", r.train_loss}, {"objective", r.train_objective}, {"accuracy", r.train_accuracy}};
    if (validation != nullptr) {
      const Evaluation v = evaluate(*validation);
      r.val_loss = v.loss, r.val_accuracy = v.accuracy;
      row.insert(row.end(), {{"val_loss", v.loss}, {"val_accuracy", v.accuracy}});
      event.metrics["val_loss"] = v.loss;
      event.metrics["val_accuracy"] = v.accuracy;
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    row.insert(row.end(), {{"lr", r.lr}, {"seconds", r.seconds}});
    if (!m.host) event.metrics["lr"] = r.lr;
    for (std::size_t k = 0; k < m.param_names.size(); ++k) {
      const std::string& name = m.param_names[k];
      const auto [update, weight] = update_and_weight_norms(store_.get(name), before.at(name));
      if (!m.host) row.emplace_back("grad_norm/" + name, grad_norms[k] / static_cast<double>(batches));
      row.emplace_back("update_ratio/" + name, weight > 0 ? update / weight : update);
    }
    epoch_file.write(row);
    records.push_back(r);
    for (auto* c : m.callbacks) c->on_epoch_end(event);
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

void Trainer::load_checkpoint(const std::string& path) {
  VariableStore loaded = load_variables(path);
  for (const char* k : {kEpoch, kBatch, kSteps}) {
    if (!loaded.has(k)) throw Error(fmt::format("'{}' is not a trainer checkpoint (no '{}')", path, k));
  }
  impl_->epochs_done = static_cast<std::int64_t>(loaded.get(kEpoch).get(0));
  impl_->batch_in_epoch = static_cast<std::int64_t>(loaded.get(kBatch).get(0));
  impl_->steps = static_cast<std::int64_t>(loaded.get(kSteps).get(0));
  for (const auto& n : loaded.names()) {
    if (n.rfind("trainer/", 0) != 0) store_.set(n, loaded.get(n));
  }
}

std::int64_t Trainer::epochs_done() const { return impl_->epochs_done; }
bool Trainer::stopped_early() const { return impl_->stopped; }

}  // namespace symgrad
