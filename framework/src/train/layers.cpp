#include "symgrad/train/layers.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "symgrad/core/error.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/core/names.hpp"
#include "symgrad/graph/op_registry.hpp"
#include "symgrad/ops/ops.hpp"
#include "symgrad/plugin/layers.hpp"

namespace symgrad {

namespace {

const std::vector<std::string>& builtin_activations() {
  static const std::vector<std::string> names = {"none", "relu", "tanh", "sigmoid", "leaky_relu", "softplus"};
  return names;
}

bool is_builtin_activation(const std::string& name) {
  const auto& names = builtin_activations();
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A registered op of one input (an elementwise function such as exp, or a plugin's gelu).
const OpDef* unary_op(const std::string& name) {
  const OpDef* op = OpRegistry::global().find(name);
  if (op == nullptr && PluginRegistry::global().find(ComponentKind::op, name) == nullptr) {
    try {  // a plugin's op: its plugin is loaded when first named
      PluginRegistry::global().get(ComponentKind::op, name);
      op = OpRegistry::global().find(name);
    } catch (const UsageError&) {  // unknown: the caller says so, with the activations it knows
    }
  }
  return op != nullptr && op->arity == 1 ? op : nullptr;
}

std::pair<std::int32_t, std::int32_t> key(Value v) { return {v.node, v.index}; }

// The one input of a layer that takes one, checked for its rank.
Value single(const Layer& layer, const std::vector<Value>& inputs, std::size_t rank, const char* form) {
  Value x = inputs.front();
  if (rank != 0 && x.shape().rank() != rank) {
    throw ShapeError(fmt::format("{} layer '{}' needs {} inputs, got {}{}", layer.kind(), layer.name(), form,
                                 x.type().to_string(), layer.kind() == "dense" ? " (add a flatten layer before it)" : ""));
  }
  return x;
}

}  // namespace

void check_activation(const std::string& name) {
  if (is_builtin_activation(name) || unary_op(name) != nullptr) return;
  throw UsageError(fmt::format("unknown activation '{}'{} (none, relu, tanh, sigmoid, leaky_relu, softplus, or a "
                               "registered op of one input, a plugin's included)",
                               name, did_you_mean(name, builtin_activations())));
}

Value activate(Value x, const std::string& name) {
  check_activation(name);
  if (name == "none") return x;
  if (name == "relu") return relu(x);
  if (name == "tanh") return tanh(x);
  if (name == "sigmoid") return sigmoid(x);
  if (name == "leaky_relu") return leaky_relu(x);
  if (name == "softplus") return softplus(x);
  Value y;
  try {
    y = x.graph->apply1(name, {x});
  } catch (const Error& e) {
    throw UsageError(fmt::format("op '{}' cannot be an activation: {}", name, e.what()));
  }
  if (y.type() != x.type()) {
    throw ShapeError(fmt::format("op '{}' cannot be an activation: it maps {} to {} (an activation keeps its input's "
                                 "type)",
                                 name, x.type().to_string(), y.type().to_string()));
  }
  return y;
}

// -- ModelScope --------------------------------------------------------------------------------

ModelScope::ModelScope(ModelContext& ctx, std::vector<Extension*> hooks, std::set<std::string> output_layers)
    : ctx_(&ctx), hooks_(std::move(hooks)), output_layers_(std::move(output_layers)) {}

Value ModelScope::parameter(const std::string& name) const {
  std::vector<std::string> names;
  for (const auto& p : ctx_->forward().params) {
    const std::string& n = p.value.producer().name;
    if (n == name) return p.value;
    names.push_back(n);
  }
  throw UsageError(fmt::format("no parameter '{}' has been declared in this model (yet){}; there are: {}", name,
                               did_you_mean(name, names), names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", "))));
}

std::string ModelScope::producer(Value v) const {
  const auto at = producers_.find(key(v));
  return at == producers_.end() ? std::string() : at->second;
}

std::string ModelScope::describe(Value v) const {
  const std::string p = producer(v);
  return p.empty() ? v.graph->node(v.node).label() : p;
}

Value ModelScope::model_input(const std::string& name, Value v) {
  LayerOutput out{name, "input", index_, LayerOutput::Stage::output, "none", false, v};
  for (Extension* e : hooks_) out.value = e->on_layer_output(*ctx_, out);
  producers_[key(out.value)] = name;
  return out.value;
}

void ModelScope::begin(const Layer& layer, const std::vector<Value>& inputs) {
  const auto [at, fresh] = layers_.emplace(layer.name(), &layer);
  if (!fresh && at->second != &layer) {
    throw UsageError(fmt::format("two layers are named '{}' (a {} and a {}): a layer's name names its parameters, so "
                                 "each layer needs its own (call one layer object twice to share its parameters)",
                                 layer.name(), at->second->kind(), layer.kind()));
  }
  const int arity = layer.arity();
  if (inputs.empty() || (arity > 0 && static_cast<int>(inputs.size()) != arity) || (arity < 0 && inputs.size() < 2)) {
    throw UsageError(fmt::format("{} layer '{}' takes {} input{}, given {}", layer.kind(), layer.name(),
                                 arity < 0 ? "two or more" : std::to_string(arity), arity == 1 ? "" : "s",
                                 inputs.size()));
  }
  LayerCall call{layer.name(), layer.kind(), layer.describe(), {}, {}};
  for (Value v : inputs) {
    call.inputs.push_back(describe(v));
  }
  open_.push_back(calls_.size());
  calls_.push_back(std::move(call));
}

Value ModelScope::hook(const Layer& layer, LayerOutput::Stage stage, Value v) {
  LayerOutput out{layer.name(), layer.kind(), index_, stage, layer.activation(), output_layers_.count(layer.name()) > 0,
                  v};
  for (Extension* e : hooks_) out.value = e->on_layer_output(*ctx_, out);
  return out.value;
}

Value ModelScope::end(const Layer& layer, Value out) {
  calls_.at(open_.back()).output = out.type();
  open_.pop_back();
  producers_[key(out)] = layer.name();
  ++index_;
  return out;
}

// -- Layer -------------------------------------------------------------------------------------

Layer::Layer(std::string name) : name_(std::move(name)) {
  if (name_.empty()) throw UsageError("a layer needs a name (it names the layer's parameters)");
  if (name_.find_first_of("/ \t\n") != std::string::npos) {
    throw UsageError(fmt::format("layer name '{}' holds '/' or a space (it becomes part of parameter names)", name_));
  }
}

Value Layer::operator()(ModelScope& scope, const std::vector<Value>& inputs) const {
  scope.begin(*this, inputs);
  Value y;
  try {
    y = build(scope, inputs);
  } catch (const ShapeError& e) {  // ("size overflow" alone names no layer)
    if (std::string(e.what()).find("'" + name() + "'") != std::string::npos) throw;  // it names the layer
    throw ShapeError(fmt::format("layer '{}' ({}): {}", name(), describe(), e.what()));
  }
  return scope.end(*this, scope.hook(*this, LayerOutput::Stage::output, y));
}

Value Layer::affine(ModelScope& scope, Value z) const {
  if (activation() == "none") return z;
  return activate(scope.hook(*this, LayerOutput::Stage::pre_activation, z), activation());
}

// -- the layers --------------------------------------------------------------------------------

Dense::Dense(std::string name, std::int64_t units, std::string activation, std::string tied)
    : Layer(std::move(name)), units_(units), activation_(std::move(activation)), tied_(std::move(tied)) {
  if (units_ < 1) throw UsageError(fmt::format("dense layer of {} units", units_));
  check_activation(activation_);
}

std::string Dense::describe() const {
  const std::string tied = tied_.empty() ? "" : fmt::format(", tied to {}", tied_);
  return activation_ == "none" ? fmt::format("dense({}{})", units_, tied)
                               : fmt::format("dense({}, {}{})", units_, activation_, tied);
}

Value Dense::build(ModelScope& scope, const std::vector<Value>& inputs) const {
  Value h = single(*this, inputs, 2, "[N, features]");
  const std::int64_t in = h.shape()[1];
  using Start = ParamInfo::Start;
  if (!tied_.empty()) {  // x W_tied^T, the other layer's variable used again (no copy)
    Value w = scope.parameter(tied_ + "/W");
    if (w.shape() != Shape{units_, in}) {
      throw ShapeError(fmt::format("dense layer '{}' of {} units on {} inputs is tied to '{}', whose W is {}: it needs "
                                   "{} (the transpose of this layer's [{}, {}])",
                                   name(), units_, in, tied_, w.type().to_string(), Shape{units_, in}.to_string(), in,
                                   units_));
    }
    Value b = scope.context().parameter(name() + "/b", Shape{units_}, Start::zeros, in, units_);
    return affine(scope, matmul(h, w, false, true) + b);
  }
  // (W before b: the order parameters are declared in is the order of the store and the metrics)
  Value w = scope.context().parameter(name() + "/W", Shape{in, units_}, Start::initializer, in, units_);
  Value b = scope.context().parameter(name() + "/b", Shape{units_}, Start::zeros, in, units_);
  return affine(scope, matmul(h, w) + b);
}

Conv2D::Conv2D(std::string name, std::int64_t filters, std::int64_t kernel, std::int64_t stride, std::int64_t padding,
               std::string activation)
    : Layer(std::move(name)), filters_(filters), kernel_(kernel), stride_(stride), padding_(padding),
      activation_(std::move(activation)) {
  if (filters < 1 || kernel < 1 || stride < 1 || padding < 0) {
    throw UsageError(fmt::format("conv2d needs filters, kernel, stride >= 1 and padding >= 0; got {}, {}, {}, {}", filters,
                                 kernel, stride, padding));
  }
  check_activation(activation_);
}

std::string Conv2D::describe() const {
  return fmt::format("conv2d({}, {}x{}{}{}{})", filters_, kernel_, kernel_,
                     stride_ != 1 ? fmt::format(", stride {}", stride_) : "",
                     padding_ != 0 ? fmt::format(", padding {}", padding_) : "",
                     activation_ == "none" ? "" : ", " + activation_);
}

Value Conv2D::build(ModelScope& scope, const std::vector<Value>& inputs) const {
  Value h = single(*this, inputs, 4, "[N, C, H, W]");
  const std::int64_t c = h.shape()[1], k = kernel_;
  using Start = ParamInfo::Start;
  Value w = scope.context().parameter(name() + "/W", Shape{filters_, c, k, k}, Start::initializer, c * k * k,
                                      filters_ * k * k);
  Value b = scope.context().parameter(name() + "/b", Shape{1, filters_, 1, 1}, Start::zeros, c * k * k,
                                      filters_ * k * k);
  return affine(scope, symgrad::conv2d(h, w, {stride_, stride_}, {padding_, padding_}) + b);
}

Activation::Activation(std::string name, std::string function) : Layer(std::move(name)), function_(std::move(function)) {
  check_activation(function_);
}

Value Activation::build(ModelScope&, const std::vector<Value>& inputs) const { return activate(inputs.front(), function_); }

Dropout::Dropout(std::string name, double p) : Layer(std::move(name)), p_(p) {
  if (!(p >= 0 && p < 1)) throw UsageError(fmt::format("dropout probability must be in [0, 1), got {}", p));
}

std::string Dropout::describe() const { return fmt::format("dropout({})", p_); }

Value Dropout::build(ModelScope& scope, const std::vector<Value>& inputs) const {
  return dropout_layer(scope.context(), inputs.front(), name(), p_);
}

Value Flatten::build(ModelScope&, const std::vector<Value>& inputs) const {
  Value h = inputs.front();
  std::int64_t features = 1;
  for (std::size_t d = 1; d < h.shape().rank(); ++d) features *= h.shape()[d];
  return reshape(h, Shape{-1, features});
}

Reshape::Reshape(std::string name, Shape shape) : Layer(std::move(name)), shape_(std::move(shape)) {
  if (shape_.rank() == 0) throw UsageError(fmt::format("reshape layer '{}' needs the example's new shape", this->name()));
  for (std::size_t d = 0; d < shape_.rank(); ++d) {
    if (shape_[d] < 1) throw UsageError(fmt::format("reshape layer '{}': {} is not a shape", this->name(), shape_.to_string()));
  }
}

std::string Reshape::describe() const { return fmt::format("reshape({})", shape_.to_string()); }

Value Reshape::build(ModelScope&, const std::vector<Value>& inputs) const {
  Value h = inputs.front();
  std::int64_t have = 1;
  for (std::size_t d = 1; d < h.shape().rank(); ++d) have *= h.shape()[d];
  if (have != shape_.numel()) {
    throw ShapeError(fmt::format("reshape layer '{}' cannot make examples of {} from {} ({} elements, not {})", name(),
                                 shape_.to_string(), h.type().to_string(), have, shape_.numel()));
  }
  std::vector<std::int64_t> dims = {-1};
  dims.insert(dims.end(), shape_.dims().begin(), shape_.dims().end());
  return reshape(h, Shape(dims));
}

Pool2D::Pool2D(std::string name, Kind kind, std::int64_t kernel, std::int64_t stride)
    : Layer(std::move(name)), kind_(kind), kernel_(kernel), stride_(stride == 0 ? kernel : stride) {
  if (kernel < 1 || stride < 0) throw UsageError(fmt::format("pooling needs kernel >= 1, stride >= 0; got {}, {}", kernel, stride));
}

std::string Pool2D::describe() const { return fmt::format("{}({})", kind(), kernel_); }

Value Pool2D::build(ModelScope&, const std::vector<Value>& inputs) const {
  Value h = single(*this, inputs, 4, "[N, C, H, W]");
  return kind_ == Kind::max ? max_pool2d(h, {kernel_, kernel_}, {stride_, stride_})
                            : avg_pool2d(h, {kernel_, kernel_}, {stride_, stride_});
}

BatchNorm::BatchNorm(std::string name, double momentum, double eps, bool sync)
    : Layer(std::move(name)), momentum_(momentum), eps_(eps), sync_(sync) {
  if (!(momentum > 0 && momentum <= 1) || !(eps > 0)) {
    throw UsageError(fmt::format("batch_norm needs 0 < momentum <= 1 and eps > 0; got {}, {}", momentum, eps));
  }
}

Value BatchNorm::build(ModelScope& scope, const std::vector<Value>& inputs) const {
  return batch_norm_layer(scope.context(), inputs.front(), name(), momentum_, eps_, sync_);
}

LayerNorm::LayerNorm(std::string name, double eps) : Layer(std::move(name)), eps_(eps) {
  if (!(eps > 0)) throw UsageError(fmt::format("layer_norm needs eps > 0; got {}", eps));
}

Value LayerNorm::build(ModelScope& scope, const std::vector<Value>& inputs) const {
  Value x = inputs.front();
  if (x.shape().rank() < 2) {
    throw ShapeError(fmt::format("layer_norm layer '{}' needs [N, ...] inputs, got {}", name(), x.type().to_string()));
  }
  Axes axes;
  std::vector<std::int64_t> example;
  std::int64_t n = 1;
  for (std::size_t d = 1; d < x.shape().rank(); ++d) {
    axes.push_back(static_cast<std::int64_t>(d));
    example.push_back(x.shape()[d]);
    n *= x.shape()[d];
  }
  using Start = ParamInfo::Start;
  Value gamma = scope.context().parameter(name() + "/gamma", Shape(example), Start::ones, n, n);
  Value beta = scope.context().parameter(name() + "/beta", Shape(example), Start::zeros, n, n);
  // y = (x - mu) / sqrt(var + eps) * gamma + beta, mu and the biased var over the example's axes
  Value centered = x - mean(x, axes, true);
  Value var = mean(square(centered), axes, true);
  return centered * pow(var + eps_, -0.5) * gamma + beta;
}

Merge::Merge(std::string name, Kind kind, std::int64_t axis) : Layer(std::move(name)), kind_(kind), axis_(axis) {
  if (axis < 0) throw UsageError(fmt::format("concat axis must be >= 0 (0: the first axis after the batch), got {}", axis));
}

std::string Merge::kind() const {
  return kind_ == Kind::add ? "add" : kind_ == Kind::multiply ? "multiply" : "concat";
}

std::string Merge::describe() const { return kind_ == Kind::concat ? fmt::format("concat(axis {})", axis_) : kind(); }

Value Merge::build(ModelScope& scope, const std::vector<Value>& inputs) const {
  const Value first = inputs.front();
  auto mismatch = [&](Value other, const char* what) {
    return ShapeError(fmt::format("{} layer '{}' needs inputs of {}: '{}' gives {}, '{}' gives {}", kind(), name(), what,
                                  scope.describe(first), first.type().to_string(), scope.describe(other),
                                  other.type().to_string()));
  };
  if (kind_ == Kind::concat) {
    const auto axis = static_cast<std::size_t>(axis_) + 1;
    for (Value v : inputs) {
      if (v.shape().rank() != first.shape().rank() || axis >= v.shape().rank()) {
        throw mismatch(v, "one rank with the concatenation axis in it");
      }
      for (std::size_t d = 1; d < v.shape().rank(); ++d) {
        if (d != axis && v.shape()[d] != first.shape()[d]) throw mismatch(v, "one shape but along the axis");
      }
    }
    return concat(inputs, static_cast<std::int64_t>(axis));
  }
  Value y = first;
  for (std::size_t i = 1; i < inputs.size(); ++i) {
    if (inputs[i].type() != first.type()) throw mismatch(inputs[i], "one shape and type");
    y = kind_ == Kind::add ? y + inputs[i] : y * inputs[i];
  }
  return y;
}

}  // namespace symgrad
