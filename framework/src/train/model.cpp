#include "symgrad/train/model.hpp"

#include <cmath>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "symgrad/core/error.hpp"
#include "symgrad/ops/ops.hpp"
#include "symgrad/plugin/registry.hpp"

namespace symgrad {

namespace {

Shape batch_shape(const Shape& example) {
  std::vector<std::int64_t> d = {Shape::kOpen};
  d.insert(d.end(), example.dims().begin(), example.dims().end());
  return Shape(d);
}

bool floating(DType t) { return t == DType::f32 || t == DType::f64; }

// The names of `m`'s keys, for messages.
template <class M>
std::string key_list(const M& m) {
  std::vector<std::string> names;
  for (const auto& [name, v] : m) names.push_back(name);
  return names.empty() ? std::string("none") : fmt::format("{}", fmt::join(names, ", "));
}

// Whether `from` is reached from `to` through the graph (a walk from `to` toward its inputs).
bool depends_on(const Graph& g, Value to, Value from) {
  std::vector<std::int32_t> stack = {to.node};
  std::set<std::int32_t> seen;
  while (!stack.empty()) {
    const std::int32_t id = stack.back();
    stack.pop_back();
    if (id == from.node) return true;
    if (!seen.insert(id).second) continue;
    for (const Value& in : g.node(id).inputs) stack.push_back(in.node);
  }
  return false;
}

}  // namespace

// -- Model -------------------------------------------------------------------------------------

Model& Model::input(const std::string& name, TensorType example) {
  if (name.empty()) throw UsageError("a model input needs a name (the name its data is fed by)");
  for (const auto& in : inputs_) {
    if (in.name == name) throw UsageError(fmt::format("the model has two inputs named '{}'", name));
  }
  inputs_.push_back({name, std::move(example)});
  return *this;
}

Model& Model::body(Body body) {
  body_ = std::move(body);
  return *this;
}

Model& Model::loss(LossSpec spec) {
  if (!(spec.weight >= 0) || !std::isfinite(spec.weight)) {
    throw UsageError(fmt::format("the loss on output '{}' has weight {}; a weight is finite and >= 0", spec.output,
                                 spec.weight));
  }
  PluginRegistry::global().make_loss(spec.loss, spec.settings);  // its name and settings, checked now
  losses_.push_back(std::move(spec));
  return *this;
}

BuiltModel Model::build(Graph& g, Mode mode, DType dtype, const std::vector<Extension*>& hooks) const {
  if (!body_) throw UsageError("the model has no body (Model::body)");
  if (inputs_.empty()) throw UsageError("the model has no input (Model::input)");
  if (losses_.empty()) throw UsageError("the model has no loss (Model::loss)");
  auto run = [&](Graph& graph, const std::vector<Extension*>& with, const std::set<std::string>& last,
                 BuiltModel& built) {
    ModelContext ctx(graph, mode, dtype, with);
    ModelScope scope(ctx, with, last);
    NamedValues fed;
    for (const auto& in : inputs_) {
      const DType t = floating(in.example.dtype) ? dtype : in.example.dtype;
      Value v = graph.find_leaf(NodeKind::input, in.name);
      if (!v.valid()) v = graph.input(in.name, {t, batch_shape(in.example.shape)});
      built.inputs[in.name] = v;
      fed[in.name] = scope.model_input(in.name, v);
    }
    // classes to classify into are known before the body: graph inputs it may read (an extension's
    // hook that needs the labels, label smoothing); other targets take their output's type after it
    for (const LossSpec& spec : losses_) {
      const bool classes = PluginRegistry::global().make_loss(spec.loss, spec.settings)->task() == Task::classification;
      if (classes && !built.inputs.count(spec.target) && !graph.find_leaf(NodeKind::input, spec.target).valid()) {
        graph.input(spec.target, {DType::i32, Shape{Shape::kOpen}});
      }
    }
    built.outputs = body_(scope, fed);
    built.forward = std::move(ctx.forward());
    built.layers = scope.calls();
    std::set<std::string> producers;
    for (const auto& [name, v] : built.outputs) {
      if (!v.valid() || v.graph != &graph) {
        throw UsageError(fmt::format("the model's output '{}' is not a value of the graph being built", name));
      }
      const std::string p = scope.producer(v);
      if (!p.empty()) producers.insert(p);
    }
    return producers;
  };
  // A first pass, without hooks, tells which layers give the outputs (LayerOutput::last).
  std::set<std::string> last;
  {
    Graph scratch;
    BuiltModel trace;
    last = run(scratch, {}, {}, trace);
  }
  BuiltModel built;
  run(g, hooks, last, built);
  if (built.outputs.empty()) throw UsageError("the model's body gives no output");
  for (const auto& in : inputs_) {
    bool read = false;
    for (const auto& [name, v] : built.outputs) read = read || depends_on(g, v, built.inputs.at(in.name));
    if (!read) throw UsageError(fmt::format("the model's input '{}' is read by no output", in.name));
  }
  std::set<std::string> with_loss;
  for (const LossSpec& spec : losses_) {
    const auto out = built.outputs.find(spec.output);
    if (out == built.outputs.end()) {
      throw UsageError(fmt::format("a loss is on output '{}', which the model does not give; its outputs: {}",
                                   spec.output, key_list(built.outputs)));
    }
    with_loss.insert(spec.output);
    const auto loss = PluginRegistry::global().make_loss(spec.loss, spec.settings);
    Value output = out->second;
    Value target;
    if (const auto in = built.inputs.find(spec.target); in != built.inputs.end()) {
      target = in->second;  // e.g. an autoencoder's input
    } else if (const auto known = built.targets.find(spec.target); known != built.targets.end()) {
      target = known->second;  // two losses against one target
    } else {
      const TensorType type = loss->task() == Task::classification ? TensorType{DType::i32, Shape{Shape::kOpen}}
                                                                    : output.type();
      target = g.find_leaf(NodeKind::input, spec.target);
      if (!target.valid()) target = g.input(spec.target, type);
    }
    built.targets[spec.target] = target;
    Value per = loss->per_example(output, target);
    Value term = mean(per);
    built.per_example.push_back(per);
    built.loss_terms.push_back(term);
    built.tasks.push_back(loss->task());
    Value weighted = spec.weight == 1 ? term : spec.weight * term;
    built.loss = built.loss.valid() ? built.loss + weighted : weighted;
  }
  for (const auto& [name, v] : built.outputs) {
    if (!with_loss.count(name)) {
      throw UsageError(fmt::format("the model's output '{}' has no loss; give it one (a weight of 0 to only watch it)", name));
    }
  }
  built.forward.logits = built.outputs.at(losses_.front().output);
  return built;
}

std::string Model::summary(DType dtype) const {
  Graph g;
  const BuiltModel built = build(g, Mode::eval, dtype);
  std::string s;
  for (const auto& call : built.layers) {
    s += fmt::format("{:<14} {:<28} <- {:<24} {}\n", call.layer, call.description,
                     fmt::format("{}", fmt::join(call.inputs, ", ")), call.output.to_string());
  }
  return s;
}

// -- Sequential --------------------------------------------------------------------------------

Sequential& Sequential::dense(std::int64_t units, const std::string& act) { return emplace<Dense>("dense", units, act); }

Sequential& Sequential::activation(const std::string& name) {
  check_activation(name);
  if (name == "none") return *this;
  return emplace<Activation>("activation", name);
}

Sequential& Sequential::dropout(double p) { return emplace<Dropout>("dropout", p); }

Sequential& Sequential::flatten() { return emplace<Flatten>("flatten"); }

Sequential& Sequential::conv2d(std::int64_t filters, std::int64_t kernel, std::int64_t stride, std::int64_t padding,
                               const std::string& act) {
  return emplace<Conv2D>("conv", filters, kernel, stride, padding, act);
}

Sequential& Sequential::max_pool(std::int64_t kernel, std::int64_t stride) {
  return emplace<Pool2D>("max_pool", Pool2D::Kind::max, kernel, stride);
}

Sequential& Sequential::avg_pool(std::int64_t kernel, std::int64_t stride) {
  return emplace<Pool2D>("avg_pool", Pool2D::Kind::average, kernel, stride);
}

Sequential& Sequential::batch_norm(double momentum, double eps, bool sync) {
  return emplace<BatchNorm>("bn", momentum, eps, sync);
}

Sequential& Sequential::layer_norm(double eps) { return emplace<LayerNorm>("ln", eps); }

Value Sequential::apply(ModelScope& scope, Value x) const {
  Value h = x;
  for (const auto& layer : layers_) h = (*layer)(scope, h);
  return h;
}

Model Sequential::to_model(TensorType example, const std::string& loss, const std::string& input) const {
  Model m;
  m.input(input, std::move(example));
  const Sequential self = *this;
  m.body([self, input](ModelScope& scope, const NamedValues& in) {
    return NamedValues{{"logits", self.apply(scope, in.at(input))}};
  });
  m.loss({"logits", loss, {}, "y", 1});
  return m;
}

Forward Sequential::build(Value x, Mode mode, const std::vector<Extension*>& hooks) const {
  ModelContext ctx(*x.graph, mode, x.dtype(), hooks);
  ModelScope scope(ctx, hooks, layers_.empty() ? std::set<std::string>{} : std::set<std::string>{layers_.back()->name()});
  Value h = apply(scope, scope.model_input("input", x));
  Forward f = std::move(ctx.forward());
  f.logits = h;
  return f;
}

std::string Sequential::to_string() const {
  std::string s;
  for (const auto& l : layers_) s += (s.empty() ? "" : " -> ") + l->describe();
  return s;
}

std::int64_t Model::multiply_adds_per_example() const {
  Graph g;
  build(g, Mode::eval, DType::f32);
  std::int64_t total = 0;
  for (std::size_t id = 0; id < g.size(); ++id) {
    const Node& n = g.node(static_cast<std::int32_t>(id));
    if (n.kind != NodeKind::op || n.inputs.size() < 2 || n.outputs.empty()) continue;
    const Shape& x = n.inputs[0].shape();
    const Shape& w = n.inputs[1].shape();
    if (x.rank() == 0 || x[0] != Shape::kOpen) continue;  // (not per example)
    const std::string op = n.op_name();
    if (op == "matmul" && x.rank() == 2 && w.rank() == 2) {
      total += w[0] * w[1];
    } else if (op == "conv2d" && w.rank() == 4) {
      const Shape& y = n.outputs[0].shape;
      std::int64_t per_example = 1;
      for (std::size_t d = 1; d < y.rank(); ++d) per_example *= y[d];
      total += per_example * w[1] * w[2] * w[3];
    }
  }
  return total;
}

}  // namespace symgrad
