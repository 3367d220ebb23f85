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

// The backward pass of batch normalization written as graph: (dx, dgamma, dbeta) from
// (g, x, gamma, mean, var), with the statistics taken as given.
std::vector<Value> backward_formula(Value g, Value x, Value gamma, Value mu, Value var, double eps) {
  const Axes axes = stat_axes(x);
  Value rstd = pow(var + eps, -0.5);
  Value xhat = (x - per_channel(mu, x)) * per_channel(rstd, x);
  Value dx = per_channel(gamma * rstd, x) * (g - mean(g, axes, true) - xhat * mean(g * xhat, axes, true));
  return {dx, sum(g * xhat, axes), sum(g, axes)};
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
        Value x = c.x(0);
        const Axes axes = stat_axes(x);
        // one op (one oneDNN primitive) for the usual part of the gradient
        auto bwd = c.graph.apply("batch_norm_backward", {c.g(0), x, c.x(1), c.y(1), c.y(2)}, c.attrs());
        std::vector<Grad> out(3, Grad::disconnected());
        if (c.needs[0]) {
          Value dx = bwd[0];
          if (c.has_grad[1]) dx = dx + per_channel(c.g(1), x) / count(x, axes);
          if (c.has_grad[2]) dx = dx + per_channel(c.g(2), x) * (x - per_channel(c.y(1), x)) * (2.0 / count(x, axes));
          out[0] = dx;
        }
        if (c.needs[1]) out[1] = bwd[1];
        if (c.needs[2]) out[2] = bwd[2];
        return out;
      },
      [] {
        return std::vector<Sample>{Sample{"dense", bn_inputs({4, 3}, 3, false), Attrs{{"eps", 1e-5}}, true},
                                   Sample{"conv", bn_inputs({2, 2, 2, 3}, 2, false), Attrs{{"eps", 1e-3}}, true}};
      }));
  // (dx, dgamma, dbeta) of batch normalization from (g, x, gamma, mean, var): with n elements per
  // channel, xhat = (x - mean) rstd, rstd = (var + eps)^-1/2,
  //   dx = gamma rstd (g - mean(g) - xhat mean(g xhat)),  dgamma = sum(g xhat),  dbeta = sum(g).
  // Its own gradient differentiates that formula, written as graph.
  r.add(make_op(
      "batch_norm_backward", "gradient of batch_norm for given statistics: dx, dgamma, dbeta", 5,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        std::vector<TensorType> shifted(ctx.inputs.begin() + 1, ctx.inputs.end());
        check_params(InferContext{ctx.op, ctx.attrs, shifted}, 1, 3);
        if (ctx.inputs[0] != ctx.inputs[1]) ctx.fail("g must have the type of x");
        return {ctx.inputs[1], ctx.inputs[2], ctx.inputs[2]};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        auto formula = backward_formula(c.x(0), c.x(1), c.x(2), c.x(3), c.x(4), c.attrs().get_float("eps"));
        std::vector<Value> wrt;
        for (std::size_t i = 0; i < 5; ++i) {
          if (c.needs[i]) wrt.push_back(c.x(i));
        }
        auto grads = c.partials(formula, c.grads, wrt);  // partial derivatives
        std::vector<Grad> out(5, Grad::disconnected());
        for (std::size_t i = 0, k = 0; i < 5; ++i) {
          if (c.needs[i]) out[i] = grads[k++];
        }
        return out;
      },
      [] {
        auto in = [](Shape x, std::int64_t ch) {
          return std::vector<SampleInput>{floats(x), floats(x), floats({ch}, 0.5, 1.5), floats({ch}),
                                          floats({ch}, 0.5, 1.5)};
        };
        return std::vector<Sample>{Sample{"dense", in({4, 3}, 3), Attrs{{"eps", 1e-5}}, true},
                                   Sample{"conv", in({2, 2, 2, 3}, 2), Attrs{{"eps", 1e-3}}, true}};
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
