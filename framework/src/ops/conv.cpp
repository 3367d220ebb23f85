// 2-D convolution (NCHW input, OIHW weights, cross-correlation as in PyTorch) and its two
// adjoints, which are ops of their own so that second derivatives exist:
//   conv2d_backward_data(g, w, like_x)   = dx of <g, conv2d(x, w)>
//   conv2d_backward_filter(x, g, like_w) = dw of <g, conv2d(x, w)>

#include <optional>

#include <fmt/format.h>

#include "op_helpers.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad {

namespace {
Attrs conv_attrs(const Axes& stride, const Axes& padding) {
  return Attrs{{"stride", stride}, {"padding", padding}};
}
}  // namespace

Value conv2d(Value x, Value w, Axes stride, Axes padding) {
  return x.graph->apply1("conv2d", {x, w}, conv_attrs(stride, padding));
}

Value conv2d_bias(Value x, Value w, Value b, Axes stride, Axes padding, const std::string& activation) {
  return x.graph->apply1("conv2d_bias", {x, w, b}, conv_attrs(stride, padding).set("activation", activation));
}

namespace ops_detail {
namespace {

std::int64_t out_size(std::int64_t in, std::int64_t k, std::int64_t s, std::int64_t p) {
  if (in == Shape::kOpen) return Shape::kOpen;
  return (in + 2 * p - k) / s + 1;
}

// Checks x [N, C, H, W] and w [O, C, KH, KW]; returns y's shape [N, O, OH, OW].
Shape conv_output(const InferContext& ctx, const Shape& x, const Shape& w) {
  const auto& stride = ctx.attrs.get_ints("stride");
  const auto& pad = ctx.attrs.get_ints("padding");
  if (stride.size() != 2 || pad.size() != 2) ctx.fail("stride and padding need two entries");
  if (stride[0] < 1 || stride[1] < 1 || pad[0] < 0 || pad[1] < 0) {
    ctx.fail("stride must be >= 1 and padding >= 0");
  }
  if (x.rank() != 4 || w.rank() != 4) {
    ctx.fail(fmt::format("input must be NCHW and weights OIHW, got {} and {}", x.to_string(), w.to_string()));
  }
  if (x[1] != w[1] && x[1] != Shape::kOpen) {
    ctx.fail(fmt::format("input has {} channels, weights expect {}", x[1], w[1]));
  }
  const std::int64_t oh = out_size(x[2], w[2], stride[0], pad[0]);
  const std::int64_t ow = out_size(x[3], w[3], stride[1], pad[1]);
  if ((x[2] != Shape::kOpen && oh < 1) || (x[3] != Shape::kOpen && ow < 1)) {
    ctx.fail(fmt::format("kernel {}x{} does not fit input {} with padding [{}, {}]", w[2], w[3],
                         x.to_string(), pad[0], pad[1]));
  }
  return Shape{x[0], w[0], oh, ow};
}

// The conv output of x and w (conv_output), checked to be the shape of the gradient input `g`.
Shape checked_gradient(const InferContext& ctx, const Shape& x, const Shape& w, std::size_t g) {
  Shape y = conv_output(ctx, x, w);
  if (ctx.inputs[g].shape.rank() != 4 || ctx.inputs[g].shape[1] != y[1]) {
    ctx.fail(fmt::format("g {} does not match the conv output {}", ctx.inputs[g].shape.to_string(), y.to_string()));
  }
  return y;
}

}  // namespace

void register_conv_ops(OpRegistry& r) {
  struct Geometry {
    const char* label;
    Shape x, w, y;
    Axes stride, pad;
  };
  // Shapes y follow from x, w, stride and padding.
  static const std::vector<Geometry> geometries = {
      {"plain", {2, 2, 4, 4}, {3, 2, 3, 3}, {2, 3, 2, 2}, {1, 1}, {0, 0}},
      {"stride2_pad1", {1, 2, 5, 5}, {2, 2, 3, 3}, {1, 2, 3, 3}, {2, 2}, {1, 1}},
      {"rect", {1, 1, 4, 5}, {2, 1, 2, 3}, {1, 2, 5, 2}, {1, 2}, {1, 0}},
  };
  auto samples = [](int which) {
    return [which] {
      std::vector<Sample> out;
      for (const auto& gm : geometries) {
        SampleInput like_x = floats(gm.x), like_w = floats(gm.w);
        like_x.differentiable = like_w.differentiable = false;
        std::vector<SampleInput> in;
        if (which == 0) in = {floats(gm.x), floats(gm.w)};
        if (which == 1) in = {floats(gm.y), floats(gm.w), like_x};
        if (which == 2) in = {floats(gm.x), floats(gm.y), like_w};
        out.push_back(Sample{gm.label, in, conv_attrs(gm.stride, gm.pad), true});
      }
      return out;
    };
  };

  // y = conv(x, w):  dx = backward_data(g, w),  dw = backward_filter(x, g)
  r.add(make_op(
      "conv2d", "2-D convolution, NCHW x OIHW", 2,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        require_same_dtype(ctx);
        return {TensorType{ctx.inputs[0].dtype, conv_output(ctx, ctx.inputs[0].shape, ctx.inputs[1].shape)}};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        std::vector<Grad> out(2, Grad::disconnected());
        if (c.needs[0]) out[0] = c.graph.apply1("conv2d_backward_data", {c.g(), c.x(1), c.x(0)}, c.attrs());
        if (c.needs[1]) out[1] = c.graph.apply1("conv2d_backward_filter", {c.x(0), c.g(), c.x(1)}, c.attrs());
        return out;
      },
      samples(0)));
  // dx = Dx(g, w) is bilinear: <Dx(g, w), h> = <g, conv(h, w)>, so
  //   d/dg = conv(h, w),  d/dw = Dw(h, g)
  r.add(make_op(
      "conv2d_backward_data", "gradient of conv2d with respect to its input", 3,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        require_same_dtype(ctx);
        checked_gradient(ctx, ctx.inputs[2].shape, ctx.inputs[1].shape, 0);
        return {ctx.inputs[2]};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        std::vector<Grad> out(3, Grad::disconnected());
        if (c.needs[0]) out[0] = c.graph.apply1("conv2d", {c.g(), c.x(1)}, c.attrs());
        if (c.needs[1]) out[1] = c.graph.apply1("conv2d_backward_filter", {c.g(), c.x(0), c.x(1)}, c.attrs());
        return out;
      },
      samples(1)));
  // dw = Dw(x, g) is bilinear: <Dw(x, g), k> = <g, conv(x, k)>, so
  //   d/dx = Dx(g, k),  d/dg = conv(x, k)
  r.add(make_op(
      "conv2d_backward_filter", "gradient of conv2d with respect to its weights", 3,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        require_same_dtype(ctx);
        checked_gradient(ctx, ctx.inputs[0].shape, ctx.inputs[2].shape, 1);
        return {ctx.inputs[2]};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        std::vector<Grad> out(3, Grad::disconnected());
        if (c.needs[0]) out[0] = c.graph.apply1("conv2d_backward_data", {c.x(1), c.g(), c.x(0)}, c.attrs());
        if (c.needs[1]) out[1] = c.graph.apply1("conv2d", {c.x(0), c.g()}, c.attrs());
        return out;
      },
      samples(2)));
  // (dw, db) = (Dw(x, g), g summed over N, H, W to b's shape): a convolution's weight and bias
  // gradients from one pass over g. The compiler forms it from a conv2d_backward_filter and a
  // sum_to_like of the same g on backends that fuse (oneDNN's backward-weights primitive computes
  // the bias gradient with the weights'). Bilinear in (x, g) for dw and linear in g for db, so with
  // cotangents (Gw, Gb):  d/dx = Dx(g, Gw),  d/dg = conv(x, Gw) + Gb broadcast to g.
  r.add(make_op(
      "conv2d_backward_filter_bias", "gradients of conv2d's weights and per-channel bias", 4,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        require_same_dtype(ctx);
        const Shape y = checked_gradient(ctx, ctx.inputs[0].shape, ctx.inputs[2].shape, 1);
        const Shape& b = ctx.inputs[3].shape;
        if (b != Shape{1, y[1], 1, 1} && b != Shape{y[1], 1, 1} && b != Shape{y[1]}) {
          ctx.fail(fmt::format("bias must be [1, {0}, 1, 1], [{0}, 1, 1] or [{0}], got {1}", y[1], b.to_string()));
        }
        return {ctx.inputs[2], ctx.inputs[3]};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        std::vector<Grad> out(4, Grad::disconnected());
        if (c.needs[0] && c.has_grad[0]) {
          out[0] = c.graph.apply1("conv2d_backward_data", {c.x(1), c.g(0), c.x(0)}, c.attrs());
        }
        if (c.needs[1]) {
          std::optional<Value> dg;
          if (c.has_grad[0]) dg = c.graph.apply1("conv2d", {c.x(0), c.g(0)}, c.attrs());
          if (c.has_grad[1]) dg = dg ? *dg + broadcast_like(c.g(1), c.x(1)) : broadcast_like(c.g(1), c.x(1));
          if (dg) out[1] = *dg;
        }
        return out;
      },
      [] {
        std::vector<Sample> out;
        for (const auto& gm : geometries) {
          SampleInput like_w = floats(gm.w), like_b = floats({1, gm.w[0], 1, 1});
          like_w.differentiable = like_b.differentiable = false;
          out.push_back(Sample{gm.label, {floats(gm.x), floats(gm.y), like_w, like_b}, conv_attrs(gm.stride, gm.pad), true});
        }
        return out;
      }));
  // y = act(conv(x, w) + b) with b [1, O, 1, 1] or [O, 1, 1] (per output channel); with
  // z = conv(x, w) + b and dz = act'(z) g:  dx = Dx(dz, w),  dw = Dw(x, dz),  db = sum over N, H, W.
  // The compiler also forms it from conv2d, add and activation nodes on backends that fuse.
  r.add(make_op(
      "conv2d_bias", "act(conv2d(x, w) + b): convolution, per-channel bias and activation in one op", 3,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        require_same_dtype(ctx);
        check_activation(ctx);
        Shape y = conv_output(ctx, ctx.inputs[0].shape, ctx.inputs[1].shape);
        const Shape& b = ctx.inputs[2].shape;
        if (b != Shape{1, y[1], 1, 1} && b != Shape{y[1], 1, 1}) {
          ctx.fail(fmt::format("bias must be [1, {0}, 1, 1] or [{0}, 1, 1], got {1}", y[1], b.to_string()));
        }
        return {TensorType{ctx.inputs[0].dtype, y}};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        Value dz = activation_grad(c.g(), c.y(), c.attrs().get_string("activation"));
        const Attrs geometry = conv_attrs(c.attrs().get_ints("stride"), c.attrs().get_ints("padding"));
        std::vector<Grad> out(3, Grad::disconnected());
        if (c.needs[0]) out[0] = c.graph.apply1("conv2d_backward_data", {dz, c.x(1), c.x(0)}, geometry);
        if (c.needs[1]) out[1] = c.graph.apply1("conv2d_backward_filter", {c.x(0), dz, c.x(1)}, geometry);
        if (c.needs[2]) out[2] = sum_to_like(dz, c.x(2));
        return out;
      },
      [] {
        auto s = [](const char* act, Axes stride, Axes pad) {
          return Sample{act, {floats({2, 2, 5, 5}), floats({3, 2, 3, 3}), floats({1, 3, 1, 1})},
                        conv_attrs(stride, pad).set("activation", std::string(act)), true};
        };
        return std::vector<Sample>{s("none", {1, 1}, {0, 0}), s("relu", {2, 2}, {1, 1}), s("tanh", {1, 1}, {1, 1})};
      }));
}

}  // namespace ops_detail
}  // namespace symgrad
