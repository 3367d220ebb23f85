#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/memory.hpp"
#include "symgrad/core/random.hpp"
#include "symgrad/ops/ops.hpp"
#include "symgrad/plugin/registry.hpp"
#include "trainer_impl.hpp"

namespace symgrad::trainer_detail {

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

void build_eval(Trainer::Impl& m, const Model& model, const TrainerOptions& o, const std::vector<Extension*>& hooks,
                VariableStore& store);

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
  (void)objective, (void)params;  // (m.objective and m.param_values are set for every optimizer)
}

// The evaluation graph and plan, and the parameters' first values.
void build_eval(Trainer::Impl& m, const Model& model, const TrainerOptions& o, const std::vector<Extension*>& hooks,
                VariableStore& store) {
  {
    Graph& g = m.eval_graph;
    const BuiltModel e = model.build(g, Mode::eval, o.dtype, hooks);
    std::vector<Value> outs = {e.loss};
    for (const auto& spec : model.losses()) outs.push_back(e.outputs.at(spec.output));
    m.eval_outputs.assign(outs.begin() + 1, outs.end());
    for (const auto& [name, v] : e.inputs) m.input_names.push_back(name);
    outs.insert(outs.end(), e.loss_terms.begin(), e.loss_terms.end());
    outs.push_back(e.per_example.front());
    CompileOptions co;
    co.backend = o.backend;
    co.precision = o.precision;
    m.eval = std::make_unique<Plan>(compile(g, outs, co));
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

}  // namespace

// The training step's graph: loss, penalties, gradients, update, extensions; and the inference
// graph, built from the same model and hooks.
// Refuses a model that cannot fit in this machine's memory before anything of it is allocated
// (the system would kill an overcommitted process without a message). A rough upper estimate:
// parameters 4x (themselves, gradients, two optimizer slots as Adam's) and every layer's output
// for a batch 2x (kept for the backward pass, and its gradient).
void check_memory(const BuiltModel& built, const TrainerOptions& o) {
  const auto available = available_memory_bytes();
  if (!available) return;
  double params = 0, largest = 0, per_example = 0;
  std::string largest_name;
  for (const auto& p : built.forward.params) {
    const double bytes = static_cast<double>(p.value.shape().numel()) * static_cast<double>(dtype_size(p.value.dtype()));
    params += bytes;
    if (bytes > largest) largest = bytes, largest_name = p.value.producer().name;
  }
  for (const auto& l : built.layers) {
    double n = static_cast<double>(dtype_size(l.output.dtype));
    for (std::size_t i = 1; i < l.output.shape.rank(); ++i) n *= static_cast<double>(std::max<std::int64_t>(l.output.shape[i], 1));
    per_example += n;
  }
  const double activations = per_example * static_cast<double>(o.batch_size);
  const double estimate = 4 * params + 2 * activations;
  if (estimate <= static_cast<double>(*available)) return;
  throw ShapeError(fmt::format("the model needs about {} (parameters {} x4 for their gradients and optimizer state, the "
                               "largest '{}' {}; layer outputs {} for batches of {} x2 for their gradients), more than "
                               "the {} of memory this machine has available: make the model or the batch smaller",
                               format_bytes(estimate), format_bytes(params), largest_name, format_bytes(largest),
                               format_bytes(activations), o.batch_size, format_bytes(static_cast<double>(*available))));
}

// What the extensions' penalties see: the parameters and the built model's batch and losses.
PenaltyContext penalty_context_of(Graph& g, const Model& model, const BuiltModel& built, std::vector<NamedParam> params) {
  PenaltyContext c(g, std::move(params));
  c.inputs = built.inputs;
  c.targets = built.targets;
  c.outputs = built.outputs;
  c.loss = built.loss;
  for (std::size_t k = 0; k < model.losses().size(); ++k) {
    const LossSpec& spec = model.losses()[k];
    c.losses.push_back({spec.output, spec.target, spec.loss, spec.weight, built.per_example[k]});
    Value weighted = spec.weight == 1 ? built.per_example[k] : spec.weight * built.per_example[k];
    c.per_example_loss = c.per_example_loss.valid() ? c.per_example_loss + weighted : weighted;
  }
  return c;
}

void build(Trainer::Impl& m, const Model& model, const TrainerOptions& o, VariableStore& store) {
  std::vector<Extension*> hooks;
  for (const auto& e : m.extensions) hooks.push_back(e.extension);
  {
    Graph& g = m.train_graph;
    BuiltModel built = model.build(g, Mode::train, o.dtype, hooks);
    check_memory(built, o);
    m.train_forward = std::move(built.forward);
    for (const auto& spec : model.losses()) {
      m.outputs.push_back(spec.output);
      m.targets.push_back(spec.target);
      m.train_outputs.push_back(built.outputs.at(spec.output));
    }
    m.tasks = built.tasks;
    for (const auto& spec : model.losses()) {
      const Shape& shape = built.outputs.at(spec.output).shape();
      m.classes.push_back(shape.rank() == 2 ? shape[1] : 0);
    }
    for (const auto& [name, v] : built.inputs) m.data_names.push_back(name);
    for (const auto& [name, v] : built.targets) {
      if (!built.inputs.count(name)) m.data_names.push_back(name);
    }
    Value loss = built.loss;
    Value objective = loss;
    for (Value pen : m.train_forward.penalties) objective = objective + pen;
    std::vector<NamedParam> named;
    for (const auto& p : m.train_forward.params) {
      if (!p.trainable) continue;  // state the model updates itself
      named.push_back({p.value.producer().name, p.value});
      m.param_names.push_back(p.value.producer().name);
    }
    const PenaltyContext penalty_context = penalty_context_of(g, model, built, named);
    std::vector<Value> penalties;
    for (const auto& e : m.extensions) {
      Value pen = e.extension->penalty(penalty_context);
      if (!pen.valid()) continue;
      objective = objective + pen;
      m.report_names.push_back(e.name + "/penalty");
      penalties.push_back(pen);
    }
    m.batch_reports = penalties.size();
    m.objective = objective;  // (a host-driven optimizer's objective; and what check_gradients checks)
    for (const auto& p : named) m.param_values.push_back(p.value);
    if (PluginRegistry::global().get(ComponentKind::optimizer, o.optimizer).host_driven) {
      m.report_names.clear();  // (a host-driven iteration has no step plan to report from)
      m.batch_reports = 0;
      build_host_driven(m, o, objective, named);
      return build_eval(m, model, o, hooks, store);
    }
    StepSpec spec{o.optimizer, o.optimizer_settings, o.groups, o.clip_norm, o.clip_value};
    spec.gradients_as_inputs = o.communicator != nullptr && o.communicator->size() > 1;
    m.training_step = build_training_step(g, objective, named, spec, m.extensions, store, m.train_forward.state_updates);
    CompileOptions co;
    co.backend = o.backend;
    co.precision = o.precision;
    co.updates = m.training_step.updates;
    std::vector<Value> outs = {loss, objective, m.train_forward.logits};
    for (const auto& gr : m.training_step.gradients) outs.push_back(sqrt(sum(square(gr))));  // per-parameter norms
    outs.insert(outs.end(), penalties.begin(), penalties.end());
    for (const auto& [name, v] : m.training_step.reports) {
      m.report_names.push_back(name);
      outs.push_back(v);
    }
    if (spec.gradients_as_inputs) {
      // two plans: this process's shard to its gradients (and the model's own state, batch-norm
      // statistics per process), then, from the gradients summed over the processes, the update
      CompileOptions local = co;
      local.updates = m.train_forward.state_updates;
      local.communicator = o.communicator;  // the model's sums over the processes (synchronized batch norm)
      std::vector<Value> local_outs = {loss, objective, m.train_forward.logits};
      for (const auto& gr : m.training_step.raw_gradients) local_outs.push_back(gr);
      local_outs.insert(local_outs.end(), penalties.begin(), penalties.end());  // summed over the shares
      m.gradient_plan = std::make_unique<Plan>(compile(g, local_outs, local));
      for (const auto& [name, v] : m.train_forward.state_updates) co.updates.erase(name);
      const auto norms_end = outs.begin() + 3 + static_cast<std::ptrdiff_t>(m.training_step.gradients.size());
      outs.erase(norms_end, norms_end + static_cast<std::ptrdiff_t>(penalties.size()));
      outs.erase(outs.begin(), outs.begin() + 3);
    }
    m.step = std::make_unique<Plan>(compile(g, outs, co));
    m.step_roots = outs;
  }
  build_eval(m, model, o, hooks, store);
}

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

Feeds named_feeds(const Dataset& data, const std::vector<std::string>& names, DType dtype) {
  Feeds feeds;
  for (const auto& name : names) {
    const Tensor& t = data.array(name);
    const bool real = t.dtype() == DType::f32 || t.dtype() == DType::f64;
    feeds[name] = real && t.dtype() != dtype ? t.to(dtype) : t;
  }
  return feeds;
}

Feeds data_feeds(const Trainer::Impl& m, const Dataset& data, DType dtype) { return named_feeds(data, m.data_names, dtype); }

}  // namespace symgrad::trainer_detail
