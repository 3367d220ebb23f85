// 2-D pooling (NCHW). Max pooling's adjoint routes g to each window's (first) maximum; it is
// linear in g, and its own adjoint gathers from the maxima, so second derivatives exist:
//   max_pool2d_backward(x, g) : [N,C,H,W],  max_pool2d_gather(x, h) : [N,C,OH,OW].
// Average pooling divides by the full window (padding included, PyTorch's default).

#include <fmt/format.h>

#include "op_helpers.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad {

namespace {
Value pool(const char* op, Value x, Axes kernel, Axes stride, Axes padding) {
  if (stride.empty()) stride = kernel;
  return x.graph->apply1(op, {x},
                         Attrs{{"kernel", kernel}, {"stride", stride}, {"padding", padding}});
}
}  // namespace

Value max_pool2d(Value x, Axes kernel, Axes stride, Axes padding) {
  return pool("max_pool2d", x, kernel, stride, padding);
}
Value avg_pool2d(Value x, Axes kernel, Axes stride, Axes padding) {
  return pool("avg_pool2d", x, kernel, stride, padding);
}

namespace ops_detail {
namespace {

Shape pool_output(const InferContext& ctx, const Shape& x) {
  const auto& k = ctx.attrs.get_ints("kernel");
  const auto& s = ctx.attrs.get_ints("stride");
  const auto& p = ctx.attrs.get_ints("padding");
  if (k.size() != 2 || s.size() != 2 || p.size() != 2) {
    ctx.fail("kernel, stride and padding need two entries");
  }
  if (x.rank() != 4) ctx.fail(fmt::format("input must be NCHW, got {}", x.to_string()));
  if (k[0] < 1 || k[1] < 1 || s[0] < 1 || s[1] < 1 || p[0] < 0 || p[1] < 0) {
    ctx.fail("kernel and stride must be >= 1, padding >= 0");
  }
  if (2 * p[0] > k[0] || 2 * p[1] > k[1]) ctx.fail("padding must be at most half the kernel");
  std::vector<std::int64_t> dims = {x[0], x[1]};
  for (int i = 0; i < 2; ++i) {
    const std::int64_t in = x[2 + static_cast<std::size_t>(i)];
    const auto u = static_cast<std::size_t>(i);
    if (in == Shape::kOpen) {
      dims.push_back(Shape::kOpen);
      continue;
    }
    const std::int64_t o = (in + 2 * p[u] - k[u]) / s[u] + 1;
    if (in + 2 * p[u] < k[u]) {
      ctx.fail(fmt::format("window {}x{} does not fit input {}", k[0], k[1], x.to_string()));
    }
    dims.push_back(o);
  }
  return Shape(dims);
}

std::vector<TensorType> infer_pool(const InferContext& ctx) {
  require_float(ctx, 0);
  return {TensorType{ctx.inputs[0].dtype, pool_output(ctx, ctx.inputs[0].shape)}};
}

// Inputs (x or like, per-window tensor) where the second has the pooled shape.
std::vector<TensorType> infer_pool_backward(const InferContext& ctx, std::size_t pooled,
                                            std::size_t full) {
  require_float(ctx, 0);
  require_same_dtype(ctx);
  Shape y = pool_output(ctx, ctx.inputs[full].shape);
  const Shape& g = ctx.inputs[pooled].shape;
  if (g.rank() != 4 || g[1] != y[1] || (g[2] != y[2] && g[2] != Shape::kOpen) ||
      (g[3] != y[3] && g[3] != Shape::kOpen)) {
    ctx.fail(fmt::format("{} does not match the pooled shape {}", g.to_string(), y.to_string()));
  }
  return {ctx.inputs[full]};
}

Attrs pool_attrs(Axes k, Axes s, Axes p) {
  return Attrs{{"kernel", k}, {"stride", s}, {"padding", p}};
}

struct PoolGeometry {
  const char* label;
  Shape x, y;
  Axes k, s, p;
};
const std::vector<PoolGeometry>& pool_geometries() {
  static const std::vector<PoolGeometry> g = {
      {"2x2", {2, 2, 4, 4}, {2, 2, 2, 2}, {2, 2}, {2, 2}, {0, 0}},
      {"3x3_s2_p1", {1, 2, 5, 5}, {1, 2, 3, 3}, {3, 3}, {2, 2}, {1, 1}},
      {"overlap", {1, 1, 4, 3}, {1, 1, 3, 2}, {2, 2}, {1, 1}, {0, 0}},
  };
  return g;
}

// which: 0 pool(x); 1 max backward(x, g); 2 max gather(x, h); 3 avg backward(g, like)
SamplesFn pool_samples(int which) {
  return [which] {
    std::vector<Sample> out;
    for (const auto& gm : pool_geometries()) {
      SampleInput x = floats(gm.x), fixed_x = floats(gm.x);
      fixed_x.differentiable = false;
      std::vector<SampleInput> in;
      if (which == 0) in = {x};
      if (which == 1) in = {fixed_x, floats(gm.y)};
      if (which == 2) in = {fixed_x, floats(gm.x)};
      if (which == 3) in = {floats(gm.y), fixed_x};
      out.push_back(Sample{gm.label, in, pool_attrs(gm.k, gm.s, gm.p), true});
    }
    return out;
  };
}

}  // namespace

void register_pool_ops(OpRegistry& r) {
  // dx = g routed to each window's maximum
  r.add(make_op(
      "max_pool2d", "maximum over windows", 1, infer_pool,
      [](const PullbackContext& c) -> std::vector<Grad> {
        return {c.graph.apply1("max_pool2d_backward", {c.x(), c.g()}, c.attrs())};
      },
      pool_samples(0)));
  // linear in g: d/dg = gather(x, h); x only selects (piecewise constant): disconnected
  r.add(make_op(
      "max_pool2d_backward", "routes g to the maxima of the windows of x", 2,
      [](const InferContext& ctx) { return infer_pool_backward(ctx, 1, 0); },
      [](const PullbackContext& c) -> std::vector<Grad> {
        return {Grad::disconnected(), c.graph.apply1("max_pool2d_gather", {c.x(0), c.g()}, c.attrs())};
      },
      pool_samples(1)));
  r.add(make_op(
      "max_pool2d_gather", "reads h at the maxima of the windows of x", 2,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        require_same_dtype(ctx);
        if (ctx.inputs[0].shape != ctx.inputs[1].shape) ctx.fail("x and h must have one shape");
        return infer_pool(ctx);
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        return {Grad::disconnected(), c.graph.apply1("max_pool2d_backward", {c.x(0), c.g()}, c.attrs())};
      },
      pool_samples(2)));
  // dx = g spread evenly over each window
  r.add(make_op(
      "avg_pool2d", "mean over windows (padding counts)", 1, infer_pool,
      [](const PullbackContext& c) -> std::vector<Grad> {
        return {c.graph.apply1("avg_pool2d_backward", {c.g(), c.x()}, c.attrs())};
      },
      pool_samples(0)));
  // linear in g; its adjoint is avg_pool2d itself
  r.add(make_op(
      "avg_pool2d_backward", "spreads g evenly over the windows", 2,
      [](const InferContext& ctx) { return infer_pool_backward(ctx, 0, 1); },
      [](const PullbackContext& c) -> std::vector<Grad> {
        return {c.graph.apply1("avg_pool2d", {c.g()}, c.attrs()), Grad::disconnected()};
      },
      pool_samples(3)));
}

}  // namespace ops_detail
}  // namespace symgrad
