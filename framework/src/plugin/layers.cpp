#include "symgrad/plugin/layers.hpp"

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/ops/ops.hpp"

namespace symgrad {

namespace {

// The batch statistics of h summed over the processes: (mean, biased variance) per channel, and
// the number of elements each stands for. The variance is taken about the global mean (two passes).
struct SyncedStatistics {
  Value mean, var, n;
};
SyncedStatistics synced_statistics(Value h, const Axes& axes) {
  const Shape keep = h.shape().rank() == 2 ? Shape{1, -1} : Shape{1, -1, 1, 1};
  Value n = cross_replica_sum(count(h, axes));
  Value mu = cross_replica_sum(sum(h, axes)) / n;
  Value centered = h - reshape(mu, keep);
  Value var = cross_replica_sum(sum(square(centered), axes)) / n;
  return {mu, var, n};
}

}  // namespace

Value batch_norm_layer(ModelContext& ctx, Value h, const std::string& name, double momentum, double eps,
                       bool synchronized) {
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
  Axes axes = {0};
  for (std::size_t i = 2; i < h.shape().rank(); ++i) axes.push_back(static_cast<std::int64_t>(i));
  Value y, batch_mean, batch_var, n;
  if (synchronized) {
    const SyncedStatistics s = synced_statistics(h, axes);
    const Shape keep = h.shape().rank() == 2 ? Shape{1, -1} : Shape{1, -1, 1, 1};
    Value scale = gamma * pow(s.var + eps, -0.5);
    y = (h - reshape(s.mean, keep)) * reshape(scale, keep) + reshape(beta, keep);
    batch_mean = s.mean, batch_var = s.var, n = s.n;
  } else {
    BatchNormOutputs bn = batch_norm(h, gamma, beta, eps);
    y = bn.y, batch_mean = bn.mean, batch_var = bn.var, n = count(h, axes);
  }
  // running statistics: r = (1 - m) r + m batch, the variance unbiased (n / (n - 1))
  ctx.set_state(name + "/running_mean", (1.0 - momentum) * rm + momentum * batch_mean);
  ctx.set_state(name + "/running_var", (1.0 - momentum) * rv + momentum * (batch_var * n / (n - 1.0)));
  return y;
}

Value dropout_layer(ModelContext& ctx, Value h, const std::string& name, double p) {
  if (!(p >= 0 && p < 1)) throw UsageError(fmt::format("dropout '{}': probability must be in [0, 1), got {}", name, p));
  if (!ctx.training() || p == 0) return h;  // inference: the identity
  Value mask = ctx.random(name + "/mask", h.type(), RandomInput::Kind::keep_mask, p);
  return dropout(h, mask, p);
}

}  // namespace symgrad
