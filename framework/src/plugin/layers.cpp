#include "symgrad/plugin/layers.hpp"

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/ops/ops.hpp"

namespace symgrad {

Value batch_norm_layer(ModelContext& ctx, Value h, const std::string& name, double momentum, double eps) {
  if (h.shape().rank() != 2 && h.shape().rank() != 4) {
    throw ShapeError(fmt::format("batch normalization '{}' needs [N, C] or [N, C, H, W], got {}", name,
                                 h.type().to_string()));
  }
  using Start = ParamInfo::Start;
  const std::int64_t c = h.shape()[1];
  Value gamma = ctx.parameter(name + "/gamma", Shape{c}, Start::ones, c, c);
  Value beta = ctx.parameter(name + "/beta", Shape{c}, Start::zeros, c, c);
  Value rm = ctx.state(name + "/running_mean", Shape{c}, Start::zeros);
  Value rv = ctx.state(name + "/running_var", Shape{c}, Start::ones);
  if (!ctx.training()) return batch_norm_inference(h, gamma, beta, rm, rv, eps);
  BatchNormOutputs bn = batch_norm(h, gamma, beta, eps);
  // running statistics: r = (1 - m) r + m batch, the variance unbiased (n / (n - 1))
  Axes axes = {0};
  for (std::size_t i = 2; i < h.shape().rank(); ++i) axes.push_back(static_cast<std::int64_t>(i));
  Value n = count(h, axes);
  ctx.set_state(name + "/running_mean", (1.0 - momentum) * rm + momentum * bn.mean);
  ctx.set_state(name + "/running_var", (1.0 - momentum) * rv + momentum * (bn.var * n / (n - 1.0)));
  return bn.y;
}

Value dropout_layer(ModelContext& ctx, Value h, const std::string& name, double p) {
  if (!(p >= 0 && p < 1)) throw UsageError(fmt::format("dropout '{}': probability must be in [0, 1), got {}", name, p));
  if (!ctx.training() || p == 0) return h;  // inference: the identity
  Value mask = ctx.random(name + "/mask", h.type(), RandomInput::Kind::keep_mask, p);
  return dropout(h, mask, p);
}

}  // namespace symgrad
