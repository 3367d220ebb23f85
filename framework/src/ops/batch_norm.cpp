// Batch normalization (Ioffe & Szegedy, 2015), over N for [N, C] and over N, H, W for
// [N, C, H, W]. The kernels compute the forward pass in one op; the pullbacks are built from
// other ops, so gradients of gradients work.

#include <fmt/format.h>

#include "op_helpers.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad {

BatchNormOutputs batch_norm(Value x, Value gamma, Value beta, double eps) {
  auto outs = x.graph->apply("batch_norm", {x, gamma, beta}, Attrs{{"eps", eps}});
  return {outs[0], outs[1], outs[2]};
}

Value batch_norm_inference(Value x, Value gamma, Value beta, Value running_mean, Value running_var,
                           double eps) {
  return x.graph->apply1("batch_norm_inference", {x, gamma, beta, running_mean, running_var},
                         Attrs{{"eps", eps}});
}

namespace ops_detail {
namespace {

Axes stat_axes(const Value& x) {
  return x.shape().rank() == 2 ? Axes{0} : Axes{0, 2, 3};
}

// A per-channel [C] value reshaped to broadcast against x: [1, C] or [1, C, 1, 1].
Value per_channel(Value v, const Value& x) {
  return x.shape().rank() == 2 ? reshape(v, Shape{1, -1}) : reshape(v, Shape{1, -1, 1, 1});
}

void check_params(const InferContext& ctx, std::size_t first, std::size_t last) {
  require_float(ctx, 0);
  require_same_dtype(ctx);
  const Shape& x = ctx.inputs[0].shape;
  if (x.rank() != 2 && x.rank() != 4) {
    ctx.fail(fmt::format("input must be [N, C] or [N, C, H, W], got {}", x.to_string()));
  }
  if (x[1] == Shape::kOpen) ctx.fail("the channel dimension must be static");
  for (std::size_t i = first; i <= last; ++i) {
    if (ctx.inputs[i].shape != Shape{x[1]}) {
      ctx.fail(fmt::format("input {} must be [{}], got {}", i, x[1], ctx.inputs[i].shape.to_string()));
    }
  }
  if (!(ctx.attrs.get_float("eps") > 0.0)) ctx.fail("eps must be positive");
}

std::vector<SampleInput> bn_inputs(Shape x, std::int64_t c, bool running) {
  std::vector<SampleInput> in = {floats(x), floats({c}, 0.5, 1.5), floats({c})};
  if (running) {
    in.push_back(floats({c}));
    in.push_back(floats({c}, 0.5, 1.5));
  }
  return in;
}

}  // namespace

void register_batch_norm_ops(OpRegistry& r) {
  // xhat = (x - mu) rstd, rstd = (var + eps)^-1/2, y = gamma xhat + beta. With n elements per
  // channel and means over the statistics axes:
  //   dx     = gamma rstd (gy - mean(gy) - xhat mean(gy xhat))
  //            + g_mu / n + g_var 2 (x - mu) / n      (the mean and var outputs, when used)
  //   dgamma = sum(gy xhat),  dbeta = sum(gy)
  r.add(make_op(
      "batch_norm", "batch normalization with batch statistics; outputs y, mean, var", 3,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        check_params(ctx, 1, 2);
        const TensorType stat{ctx.inputs[0].dtype, Shape{ctx.inputs[0].shape[1]}};
        return {ctx.inputs[0], stat, stat};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        Value x = c.x(0), gamma = c.x(1);
        const Axes axes = stat_axes(x);
        const double eps = c.attrs().get_float("eps");
        Value xc = x - per_channel(c.y(1), x);
        Value rstd = pow(c.y(2) + eps, -0.5);
        Value xhat = xc * per_channel(rstd, x);
        Value gy = c.g(0);
        std::vector<Grad> out(3, Grad::disconnected());
        if (c.needs[0]) {
          Value dx = per_channel(gamma * rstd, x) *
                     (gy - mean(gy, axes, true) - xhat * mean(gy * xhat, axes, true));
          if (c.has_grad[1]) dx = dx + per_channel(c.g(1), x) / count(x, axes);
          if (c.has_grad[2]) dx = dx + per_channel(c.g(2), x) * xc * (2.0 / count(x, axes));
          out[0] = dx;
        }
        if (c.needs[1]) out[1] = sum(gy * xhat, axes);
        if (c.needs[2]) out[2] = sum(gy, axes);
        return out;
      },
      [] {
        return std::vector<Sample>{Sample{"dense", bn_inputs({4, 3}, 3, false), Attrs{{"eps", 1e-5}}, true},
                                   Sample{"conv", bn_inputs({2, 2, 2, 3}, 2, false), Attrs{{"eps", 1e-3}}, true}};
      }));
  // y = gamma (x - m) s + beta with s = (v + eps)^-1/2:
  //   dx = g gamma s,  dgamma = sum(g (x - m) s),  dbeta = sum(g),
  //   dm = -sum(g) gamma s,  dv = -1/2 sum(g (x - m)) gamma s^3
  r.add(make_op(
      "batch_norm_inference", "batch normalization with given running mean and variance", 5,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        check_params(ctx, 1, 4);
        return {ctx.inputs[0]};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        Value x = c.x(0), gamma = c.x(1), m = c.x(3), v = c.x(4), g = c.g();
        const Axes axes = stat_axes(x);
        Value s = pow(v + c.attrs().get_float("eps"), -0.5);
        Value xc = x - per_channel(m, x);
        std::vector<Grad> out(5, Grad::disconnected());
        if (c.needs[0]) out[0] = g * per_channel(gamma * s, x);
        if (c.needs[1]) out[1] = sum(g * xc, axes) * s;
        if (c.needs[2]) out[2] = sum(g, axes);
        if (c.needs[3]) out[3] = -(sum(g, axes) * gamma * s);
        if (c.needs[4]) out[4] = sum(g * xc, axes) * gamma * pow(s, 3.0) * -0.5;
        return out;
      },
      [] {
        return std::vector<Sample>{
            Sample{"dense", bn_inputs({4, 3}, 3, true), Attrs{{"eps", 1e-5}}, true},
            Sample{"conv", bn_inputs({2, 2, 2, 3}, 2, true), Attrs{{"eps", 1e-3}}, true}};
      }));
}

}  // namespace ops_detail
}  // namespace symgrad
