#include "symgrad/train/model.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/names.hpp"
#include "symgrad/ops/ops.hpp"
#include "symgrad/plugin/layers.hpp"

namespace symgrad {

namespace {

const std::vector<std::string>& activations() {
  static const std::vector<std::string> names = {"none", "relu", "tanh", "sigmoid", "leaky_relu", "softplus"};
  return names;
}

// Throws a UsageError for a name activate() does not know.
void check_activation(const std::string& name) {
  const auto& names = activations();
  if (std::find(names.begin(), names.end(), name) != names.end()) return;
  throw UsageError(fmt::format("unknown activation '{}'{} (none, relu, tanh, sigmoid, leaky_relu, softplus)", name,
                               did_you_mean(name, names)));
}

}  // namespace

Value activate(Value x, const std::string& name) {
  check_activation(name);
  if (name == "relu") return relu(x);
  if (name == "tanh") return tanh(x);
  if (name == "sigmoid") return sigmoid(x);
  if (name == "leaky_relu") return leaky_relu(x);
  if (name == "softplus") return softplus(x);
  return x;
}

Sequential& Sequential::dense(std::int64_t units, const std::string& act) {
  if (units < 1) throw UsageError(fmt::format("dense layer of {} units", units));
  check_activation(act);
  layers_.push_back({Layer::dense, units, act, 0});
  return *this;
}

Sequential& Sequential::activation(const std::string& name) {
  check_activation(name);
  if (name != "none") layers_.push_back({Layer::activation, 0, name, 0});
  return *this;
}

Sequential& Sequential::dropout(double p) {
  if (!(p >= 0 && p < 1)) throw UsageError(fmt::format("dropout probability must be in [0, 1), got {}", p));
  layers_.push_back({Layer::dropout, 0, "none", p});
  return *this;
}

Sequential& Sequential::flatten() {
  layers_.push_back({Layer::flatten, 0, "none", 0});
  return *this;
}

Sequential& Sequential::conv2d(std::int64_t filters, std::int64_t kernel, std::int64_t stride, std::int64_t padding,
                               const std::string& act) {
  if (filters < 1 || kernel < 1 || stride < 1 || padding < 0) {
    throw UsageError(fmt::format("conv2d needs filters, kernel, stride >= 1 and padding >= 0; got {}, {}, {}, {}", filters,
                                 kernel, stride, padding));
  }
  check_activation(act);
  Layer l{Layer::conv2d, filters, act, 0};
  l.kernel = kernel, l.stride = stride, l.padding = padding;
  layers_.push_back(l);
  return *this;
}

Sequential& Sequential::max_pool(std::int64_t kernel, std::int64_t stride) {
  if (kernel < 1 || stride < 0) throw UsageError(fmt::format("pooling needs kernel >= 1, stride >= 0; got {}, {}", kernel, stride));
  Layer l{Layer::max_pool, 0, "none", 0};
  l.kernel = kernel, l.stride = stride == 0 ? kernel : stride;
  layers_.push_back(l);
  return *this;
}

Sequential& Sequential::avg_pool(std::int64_t kernel, std::int64_t stride) {
  max_pool(kernel, stride);
  layers_.back().kind = Layer::avg_pool;
  return *this;
}

Sequential& Sequential::batch_norm(double momentum, double eps, bool sync) {
  if (!(momentum > 0 && momentum <= 1) || !(eps > 0)) {
    throw UsageError(fmt::format("batch_norm needs 0 < momentum <= 1 and eps > 0; got {}, {}", momentum, eps));
  }
  Layer l{Layer::batch_norm, 0, "none", momentum};
  l.eps = eps;
  l.sync = sync;
  layers_.push_back(l);
  return *this;
}

namespace {

const char* kind_name(int kind) {
  static const char* names[] = {"dense", "activation", "dropout", "flatten", "conv2d", "max_pool", "avg_pool", "batch_norm"};
  return names[kind];
}

}  // namespace

Forward Sequential::build(Value x, Mode mode, const std::vector<Extension*>& hooks) const {
  ModelContext ctx(*x.graph, mode, x.dtype(), hooks);
  Value h = x;
  std::map<std::string, int> counts;  // layers of each kind so far: dense1, dense2, conv1, ...
  using Start = ParamInfo::Start;
  {  // the input, as the output of a layer "input"
    LayerOutput in{"input", "input", 0, LayerOutput::Stage::output, "none", false, h};
    for (Extension* e : hooks) in.value = e->on_layer_output(ctx, in);
    h = in.value;
  }
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const Layer& l = layers_[i];
    const std::string kind = kind_name(l.kind);
    const std::string prefix = l.kind == Layer::conv2d ? "conv" : l.kind == Layer::batch_norm ? "bn" : kind;
    const std::string name = fmt::format("{}{}", prefix, ++counts[prefix]);
    LayerOutput out{name, kind, i, LayerOutput::Stage::output, l.function, i + 1 == layers_.size(), Value{}};
    const auto hook = [&](LayerOutput::Stage stage, Value v) {
      out.stage = stage;
      out.value = v;
      for (Extension* e : hooks) out.value = e->on_layer_output(ctx, out);
      return out.value;
    };
    // an affine layer's output, hooked before and after its own activation
    const auto affine = [&](Value z) {
      if (l.function == "none") return hook(LayerOutput::Stage::output, z);
      return hook(LayerOutput::Stage::output, activate(hook(LayerOutput::Stage::pre_activation, z), l.function));
    };
    switch (l.kind) {
      case Layer::flatten: {
        std::int64_t features = 1;
        for (std::size_t d = 1; d < h.shape().rank(); ++d) features *= h.shape()[d];
        h = hook(LayerOutput::Stage::output, reshape(h, Shape{-1, features}));
        break;
      }
      case Layer::dense: {
        if (h.shape().rank() != 2) {
          throw ShapeError(fmt::format("dense layer {} needs [N, features] inputs, got {} (add flatten before it)", name,
                                       h.type().to_string()));
        }
        const std::int64_t in = h.shape()[1];
        Value w = ctx.parameter(name + "/W", Shape{in, l.units}, Start::initializer, in, l.units);
        Value b = ctx.parameter(name + "/b", Shape{l.units}, Start::zeros, in, l.units);
        h = affine(matmul(h, w) + b);
        break;
      }
      case Layer::activation: h = hook(LayerOutput::Stage::output, activate(h, l.function)); break;
      case Layer::conv2d: {
        if (h.shape().rank() != 4) {
          throw ShapeError(fmt::format("conv2d layer {} needs [N, C, H, W] inputs, got {}", name, h.type().to_string()));
        }
        const std::int64_t c = h.shape()[1], k = l.kernel;
        Value w = ctx.parameter(name + "/W", Shape{l.units, c, k, k}, Start::initializer, c * k * k, l.units * k * k);
        Value b = ctx.parameter(name + "/b", Shape{1, l.units, 1, 1}, Start::zeros, c * k * k, l.units * k * k);
        h = affine(symgrad::conv2d(h, w, {l.stride, l.stride}, {l.padding, l.padding}) + b);
        break;
      }
      case Layer::max_pool:
        h = hook(LayerOutput::Stage::output, max_pool2d(h, {l.kernel, l.kernel}, {l.stride, l.stride}));
        break;
      case Layer::avg_pool:
        h = hook(LayerOutput::Stage::output, avg_pool2d(h, {l.kernel, l.kernel}, {l.stride, l.stride}));
        break;
      case Layer::batch_norm: h = hook(LayerOutput::Stage::output, batch_norm_layer(ctx, h, name, l.p, l.eps, l.sync)); break;
      case Layer::dropout: h = hook(LayerOutput::Stage::output, dropout_layer(ctx, h, name, l.p)); break;
    }
  }
  Forward f = std::move(ctx.forward());
  f.logits = h;
  return f;
}

std::string Sequential::to_string() const {
  std::string s;
  for (const Layer& l : layers_) {
    std::string part;
    switch (l.kind) {
      case Layer::dense: part = l.function == "none" ? fmt::format("dense({})", l.units) : fmt::format("dense({}, {})", l.units, l.function); break;
      case Layer::activation: part = l.function; break;
      case Layer::dropout: part = fmt::format("dropout({})", l.p); break;
      case Layer::flatten: part = "flatten"; break;
      case Layer::conv2d:
        part = fmt::format("conv2d({}, {}x{}{}{}{})", l.units, l.kernel, l.kernel,
                           l.stride != 1 ? fmt::format(", stride {}", l.stride) : "",
                           l.padding != 0 ? fmt::format(", padding {}", l.padding) : "",
                           l.function == "none" ? "" : ", " + l.function);
        break;
      case Layer::max_pool: part = fmt::format("max_pool({})", l.kernel); break;
      case Layer::avg_pool: part = fmt::format("avg_pool({})", l.kernel); break;
      case Layer::batch_norm: part = "batch_norm"; break;
    }
    s += (s.empty() ? "" : " -> ") + part;
  }
  return s;
}

}  // namespace symgrad
