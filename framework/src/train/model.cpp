#include "symgrad/train/model.hpp"

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/ops/ops.hpp"

namespace symgrad {

Value activate(Value x, const std::string& name) {
  if (name == "none") return x;
  if (name == "relu") return relu(x);
  if (name == "tanh") return tanh(x);
  if (name == "sigmoid") return sigmoid(x);
  if (name == "leaky_relu") return leaky_relu(x);
  if (name == "softplus") return softplus(x);
  throw UsageError(fmt::format("unknown activation '{}' (none, relu, tanh, sigmoid, leaky_relu, softplus)", name));
}

Sequential& Sequential::dense(std::int64_t units, const std::string& act) {
  if (units < 1) throw UsageError(fmt::format("dense layer of {} units", units));
  if (act != "none" && act != "relu" && act != "tanh" && act != "sigmoid" && act != "leaky_relu" && act != "softplus") {
    throw UsageError(fmt::format("unknown activation '{}' (none, relu, tanh, sigmoid, leaky_relu, softplus)", act));
  }
  layers_.push_back({Layer::dense, units, act, 0});
  return *this;
}

Sequential& Sequential::activation(const std::string& name) {
  if (name == "none") return *this;
  dense(1, name);  // checks the name
  layers_.back() = {Layer::activation, 0, name, 0};
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

Forward Sequential::build(Value x, Mode mode) const {
  Graph& g = *x.graph;
  Forward f;
  Value h = x;
  int dense_count = 0, dropout_count = 0;
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
        const auto find_or_make = [&](const std::string& n, const Shape& s) {
          Value v = g.find_leaf(NodeKind::variable, n);
          return v.valid() ? v : g.variable(n, {x.dtype(), s});
        };
        Value w = find_or_make(name + "/W", Shape{in, l.units});
        Value b = find_or_make(name + "/b", Shape{l.units});
        f.params.push_back({w, in, l.units, false});
        f.params.push_back({b, in, l.units, true});
        h = activate(matmul(h, w) + b, l.function);
        break;
      }
      case Layer::activation: h = activate(h, l.function); break;
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
    }
    s += (s.empty() ? "" : " -> ") + part;
  }
  return s;
}

}  // namespace symgrad
