// Reductions (sum, mean, max over axes, with keepdims) and the broadcasting helpers that
// gradients are built from (sum_to_like, broadcast_like, broadcast_to, count).

#include <fmt/format.h>

#include "op_helpers.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad {

namespace {
Value reduce(const char* op, Value x, const Axes& axes, bool keepdims) {
  return x.graph->apply1(op, {x}, Attrs{{"axes", axes}, {"keepdims", std::int64_t{keepdims}}});
}
}  // namespace

Value sum(Value x, Axes axes, bool keepdims) { return reduce("sum", x, axes, keepdims); }
Value mean(Value x, Axes axes, bool keepdims) { return reduce("mean", x, axes, keepdims); }
Value max(Value x, Axes axes, bool keepdims) { return reduce("max", x, axes, keepdims); }
Value sum_to_like(Value x, Value like) { return x.graph->apply1("sum_to_like", {x, like}); }
Value broadcast_like(Value x, Value like) { return x.graph->apply1("broadcast_like", {x, like}); }
Value broadcast_to(Value x, const Shape& shape) {
  return x.graph->apply1("broadcast_to", {x}, Attrs{{"shape", shape.dims()}});
}
Value count(Value x, Axes axes) { return x.graph->apply1("count", {x}, Attrs{{"axes", axes}}); }

namespace ops_detail {
namespace {

std::vector<std::int64_t> axes_of(const Attrs& a, std::size_t rank) {
  return reduction_axes(a.get_ints("axes"), rank);
}

std::vector<TensorType> infer_reduce(const InferContext& ctx) {
  require_float(ctx, 0);
  const auto& x = ctx.inputs[0];
  auto axes = axes_of(ctx.attrs, x.shape.rank());
  return {TensorType{x.dtype, reduced_shape(x.shape, axes, ctx.attrs.get_int("keepdims") != 0)}};
}

std::vector<Sample> reduce_samples() {
  auto s = [](const char* label, Axes axes, bool keep) {
    return Sample{label, {floats({2, 3, 4})}, Attrs{{"axes", axes}, {"keepdims", std::int64_t{keep}}},
                  true};
  };
  return {s("all", {}, false), s("axis1", {1}, false), s("axes02_keep", {0, -1}, true),
          s("last_keep", {2}, true)};
}

// `like` must broadcast to x's shape (x is the larger one).
std::vector<TensorType> infer_sum_to_like(const InferContext& ctx) {
  require_float(ctx, 0);
  const Shape& from = ctx.inputs[0].shape;
  const Shape& to = ctx.inputs[1].shape;
  if (to.rank() > from.rank()) {
    ctx.fail(fmt::format("cannot sum {} down to the larger rank of {}", from.to_string(), to.to_string()));
  }
  Shape b = broadcast_shapes(from, to);
  if (b.rank() != from.rank()) ctx.fail("shapes do not reduce");
  return {TensorType{ctx.inputs[0].dtype, to}};
}

std::vector<TensorType> infer_broadcast_like(const InferContext& ctx) {
  require_float(ctx, 0);
  const Shape& from = ctx.inputs[0].shape;
  const Shape& to = ctx.inputs[1].shape;
  broadcast_shapes(from, to);
  if (from.rank() > to.rank()) {
    ctx.fail(fmt::format("cannot broadcast {} to the smaller rank of {}", from.to_string(), to.to_string()));
  }
  return {TensorType{ctx.inputs[0].dtype, to}};
}

}  // namespace

void register_reduce_ops(OpRegistry& r) {
  // d sum(x) = g broadcast back over the reduced axes
  r.add(make_op(
      "sum", "sum over axes", 1, infer_reduce,
      [](const PullbackContext& c) -> std::vector<Grad> {
        auto axes = axes_of(c.attrs(), c.x().shape().rank());
        return {broadcast_like(keepdims_grad(c.g(), c.x(), axes, c.attrs().get_int("keepdims")), c.x())};
      },
      reduce_samples));
  // d mean(x) = g broadcast back / n
  r.add(make_op(
      "mean", "mean over axes", 1, infer_reduce,
      [](const PullbackContext& c) -> std::vector<Grad> {
        auto axes = axes_of(c.attrs(), c.x().shape().rank());
        Value g = keepdims_grad(c.g(), c.x(), axes, c.attrs().get_int("keepdims"));
        return {broadcast_like(g / count(c.x(), c.attrs().get_ints("axes")), c.x())};
      },
      reduce_samples));
  // d max(x) = g [x == max] / (number of ties): the gradient is shared between the maxima.
  r.add(make_op(
      "max", "maximum over axes", 1, infer_reduce,
      [](const PullbackContext& c) -> std::vector<Grad> {
        auto axes = axes_of(c.attrs(), c.x().shape().rank());
        const bool keep = c.attrs().get_int("keepdims") != 0;
        Value y = keepdims_grad(c.y(), c.x(), axes, keep);
        Value g = keepdims_grad(c.g(), c.x(), axes, keep);
        Value hit = equal(c.x(), y);
        Value ties = sum(hit, axes, true);
        return {hit * (g / ties)};
      },
      reduce_samples));
  // d sum_to_like(x) = broadcast g back to x
  r.add(view_when_same_size(make_op(
      "sum_to_like", "sums x over the axes on which `like` broadcasts", 2, infer_sum_to_like,
      [](const PullbackContext& c) -> std::vector<Grad> {
        return {broadcast_like(c.g(), c.x(0)), Grad::disconnected()};
      },
      [] {
        SampleInput like = floats({3});
        like.differentiable = false;
        SampleInput like2 = floats({2, 1});
        like2.differentiable = false;
        return std::vector<Sample>{Sample{"rows", {floats({2, 3}), like}, {}, true},
                                   Sample{"columns", {floats({2, 3}), like2}, {}, true}};
      })));
  // d broadcast_like(x) = g summed back to x
  r.add(view_when_same_size(make_op(
      "broadcast_like", "broadcasts x to the shape of `like`", 2, infer_broadcast_like,
      [](const PullbackContext& c) -> std::vector<Grad> {
        return {sum_to_like(c.g(), c.x(0)), Grad::disconnected()};
      },
      [] {
        SampleInput like = floats({2, 3});
        like.differentiable = false;
        return std::vector<Sample>{Sample{"row", {floats({3}), like}, {}, true},
                                   Sample{"column", {floats({2, 1}), like}, {}, true}};
      })));
  r.add(view_when_same_size(make_op(
      "broadcast_to", "broadcasts x to a shape", 1,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        Shape to(ctx.attrs.get_ints("shape"));
        Shape b = broadcast_shapes(ctx.inputs[0].shape, to);
        if (b.rank() != to.rank()) ctx.fail("target rank is smaller than the input's");
        for (std::size_t i = 0; i < to.rank(); ++i) {
          if (to[i] != Shape::kOpen && b[i] != to[i]) {
            ctx.fail(fmt::format("{} does not broadcast to {}", ctx.inputs[0].shape.to_string(),
                                 to.to_string()));
          }
        }
        return {TensorType{ctx.inputs[0].dtype, to}};
      },
      [](const PullbackContext& c) -> std::vector<Grad> { return {sum_to_like(c.g(), c.x())}; },
      [] {
        return std::vector<Sample>{
            Sample{"row", {floats({3})}, Attrs{{"shape", Axes{2, 3}}}, true},
            Sample{"middle", {floats({2, 1, 3})}, Attrs{{"shape", Axes{2, 4, 3}}}, true}};
      })));
  r.add(make_op(
      "count", "number of elements over axes, as a scalar", 1,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        axes_of(ctx.attrs, ctx.inputs[0].shape.rank());
        return {TensorType{ctx.inputs[0].dtype, Shape{}}};
      },
      [](const PullbackContext&) -> std::vector<Grad> { return {Grad::disconnected()}; },
      [] {
        SampleInput a = floats({2, 3});
        a.differentiable = false;
        return std::vector<Sample>{Sample{"axis1", {a}, Attrs{{"axes", Axes{1}}}, false}};
      }));
}

}  // namespace ops_detail
}  // namespace symgrad
