#include "symgrad/train/model.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/names.hpp"
#include "symgrad/ops/ops.hpp"

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

Sequential& Sequential::batch_norm(double momentum, double eps) {
  if (!(momentum > 0 && momentum <= 1) || !(eps > 0)) {
    throw UsageError(fmt::format("batch_norm needs 0 < momentum <= 1 and eps > 0; got {}, {}", momentum, eps));
  }
  Layer l{Layer::batch_norm, 0, "none", momentum};
  l.eps = eps;
  layers_.push_back(l);
  return *this;
}

Forward Sequential::build(Value x, Mode mode) const {
  Graph& g = *x.graph;
  Forward f;
  Value h = x;
  int dense_count = 0, dropout_count = 0, conv_count = 0, bn_count = 0;
  const auto find_or_make = [&](const std::string& n, const Shape& s) {
    Value v = g.find_leaf(NodeKind::variable, n);
    return v.valid() ? v : g.variable(n, {x.dtype(), s});
  };
  using Start = ParamInfo::Start;
  for (const Layer& l : layers_) {
    switch (l.kind) {
      case Layer::flatten: {
        std::int64_t features = 1;
        for (std::size_t i = 1; i < h.shape().rank(); ++i) features *= h.shape()[i];
        h = reshape(h, Shape{-1, features});
        break;
      }
      case Layer::dense: {
        if (h.shape().rank() != 2) {
          throw ShapeError(fmt::format("dense layer {} needs [N, features] inputs, got {} (add flatten before it)",
                                       dense_count + 1, h.type().to_string()));
        }
        const std::string name = fmt::format("dense{}", ++dense_count);
        const std::int64_t in = h.shape()[1];
        Value w = find_or_make(name + "/W", Shape{in, l.units});
        Value b = find_or_make(name + "/b", Shape{l.units});
        f.params.push_back({w, in, l.units, Start::initializer, true});
        f.params.push_back({b, in, l.units, Start::zeros, true});
        h = activate(matmul(h, w) + b, l.function);
        break;
      }
      case Layer::activation: h = activate(h, l.function); break;
      case Layer::conv2d: {
        if (h.shape().rank() != 4) {
          throw ShapeError(fmt::format("conv2d layer {} needs [N, C, H, W] inputs, got {}", conv_count + 1,
                                       h.type().to_string()));
        }
        const std::string name = fmt::format("conv{}", ++conv_count);
        const std::int64_t c = h.shape()[1], k = l.kernel;
        Value w = find_or_make(name + "/W", Shape{l.units, c, k, k});
        Value b = find_or_make(name + "/b", Shape{1, l.units, 1, 1});
        f.params.push_back({w, c * k * k, l.units * k * k, Start::initializer, true});
        f.params.push_back({b, c * k * k, l.units * k * k, Start::zeros, true});
        h = activate(symgrad::conv2d(h, w, {l.stride, l.stride}, {l.padding, l.padding}) + b, l.function);
        break;
      }
      case Layer::max_pool: h = max_pool2d(h, {l.kernel, l.kernel}, {l.stride, l.stride}); break;
      case Layer::avg_pool: h = avg_pool2d(h, {l.kernel, l.kernel}, {l.stride, l.stride}); break;
      case Layer::batch_norm: {
        const std::string name = fmt::format("bn{}", ++bn_count);
        const std::int64_t c = h.shape()[1];
        Value gamma = find_or_make(name + "/gamma", Shape{c}), beta = find_or_make(name + "/beta", Shape{c});
        Value rm = find_or_make(name + "/running_mean", Shape{c}), rv = find_or_make(name + "/running_var", Shape{c});
        f.params.push_back({gamma, c, c, Start::ones, true});
        f.params.push_back({beta, c, c, Start::zeros, true});
        f.params.push_back({rm, c, c, Start::zeros, false});
        f.params.push_back({rv, c, c, Start::ones, false});
        if (mode == Mode::eval) {
          h = batch_norm_inference(h, gamma, beta, rm, rv, l.eps);
          break;
        }
        BatchNormOutputs bn = symgrad::batch_norm(h, gamma, beta, l.eps);
        // running statistics: r = (1 - m) r + m batch, the variance unbiased (n / (n - 1))
        std::vector<std::int64_t> axes = {0};
        for (std::size_t i = 2; i < h.shape().rank(); ++i) axes.push_back(static_cast<std::int64_t>(i));
        Value n = count(h, axes);
        f.state_updates[name + "/running_mean"] = (1.0 - l.p) * rm + l.p * bn.mean;
        f.state_updates[name + "/running_var"] = (1.0 - l.p) * rv + l.p * (bn.var * n / (n - 1.0));
        h = bn.y;
        break;
      }
      case Layer::dropout: {
        ++dropout_count;
        if (mode == Mode::eval || l.p == 0) break;  // inference: the identity
        const std::string name = fmt::format("dropout{}/mask", dropout_count);
        Value mask = g.input(name, h.type());
        f.masks.push_back({name, mask, l.p});
        h = symgrad::dropout(h, mask, l.p);
        break;
      }
    }
  }
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
