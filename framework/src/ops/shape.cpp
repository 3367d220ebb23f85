// Shape ops: reshape, transpose, concat, slice (and slice_grad, its adjoint).

#include <numeric>

#include <fmt/format.h>

#include "op_helpers.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad {

Value reshape(Value x, const Shape& shape) {
  return x.graph->apply1("reshape", {x}, Attrs{{"shape", shape.dims()}});
}
Value transpose(Value x, Axes perm) {
  if (perm.empty()) {
    for (std::size_t i = x.shape().rank(); i-- > 0;) perm.push_back(static_cast<std::int64_t>(i));
  }
  return x.graph->apply1("transpose", {x}, Attrs{{"perm", perm}});
}
Value matrix_transpose(Value x) {
  const auto rank = static_cast<std::int64_t>(x.shape().rank());
  if (rank < 2) {
    throw ShapeError(fmt::format("matrix_transpose needs rank >= 2, got {}", x.type().to_string()));
  }
  Axes perm(static_cast<std::size_t>(rank));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[static_cast<std::size_t>(rank - 1)], perm[static_cast<std::size_t>(rank - 2)]);
  return transpose(x, perm);
}
Value concat(const std::vector<Value>& xs, std::int64_t axis) {
  if (xs.empty()) throw UsageError("concat of no values");
  return xs[0].graph->apply1("concat", xs, Attrs{{"axis", axis}});
}
Value slice(Value x, Axes begins, Axes sizes) {
  return x.graph->apply1("slice", {x}, Attrs{{"begins", begins}, {"sizes", sizes}});
}

Value element(Value x, std::int64_t i) { return reshape(slice(x, {i}, {1}), Shape{}); }

namespace ops_detail {
namespace {

std::vector<TensorType> infer_reshape(const InferContext& ctx) {
  const TensorType& x = ctx.inputs[0];
  std::vector<std::int64_t> dims = ctx.attrs.get_ints("shape");
  int open = 0;
  std::int64_t known = 1;
  for (auto d : dims) {
    if (d == -1) {
      ++open;
    } else if (d < 0) {
      ctx.fail(fmt::format("invalid target dimension {}", d));
    } else {
      known = checked_mul(known, d);
    }
  }
  if (open > 1) ctx.fail("at most one target dimension may be -1");
  if (x.shape.is_static()) {
    const std::int64_t n = x.shape.numel();
    if (open == 1) {
      if (known == 0 || n % known != 0) {
        ctx.fail(fmt::format("cannot reshape {} to {}", x.shape.to_string(), Shape(dims).to_string()));
      }
      for (auto& d : dims) {
        if (d == -1) d = n / known;
      }
    } else if (known != n) {
      ctx.fail(fmt::format("cannot reshape {} ({} elements) to {} ({} elements)",
                           x.shape.to_string(), n, Shape(dims).to_string(), known));
    }
  }
  return {TensorType{x.dtype, Shape(dims)}};
}

std::vector<TensorType> infer_transpose(const InferContext& ctx) {
  const TensorType& x = ctx.inputs[0];
  const auto& perm = ctx.attrs.get_ints("perm");
  if (perm.size() != x.shape.rank()) {
    ctx.fail(fmt::format("permutation of {} axes for rank {}", perm.size(), x.shape.rank()));
  }
  std::vector<bool> seen(perm.size());
  std::vector<std::int64_t> dims;
  for (auto p : perm) {
    if (p < 0 || p >= static_cast<std::int64_t>(perm.size()) || seen[static_cast<std::size_t>(p)]) {
      ctx.fail("perm is not a permutation");
    }
    seen[static_cast<std::size_t>(p)] = true;
    dims.push_back(x.shape[static_cast<std::size_t>(p)]);
  }
  return {TensorType{x.dtype, Shape(dims)}};
}

std::vector<TensorType> infer_concat(const InferContext& ctx) {
  require_same_dtype(ctx);
  const Shape& s0 = ctx.inputs[0].shape;
  const auto axis = static_cast<std::size_t>(normalize_axis(ctx.attrs.get_int("axis"), s0.rank()));
  std::vector<std::int64_t> dims = s0.dims();
  for (std::size_t i = 1; i < ctx.inputs.size(); ++i) {
    const Shape& s = ctx.inputs[i].shape;
    if (s.rank() != s0.rank()) ctx.fail("inputs must share one rank");
    for (std::size_t d = 0; d < s.rank(); ++d) {
      if (d == axis) {
        dims[d] = (dims[d] == Shape::kOpen || s[d] == Shape::kOpen) ? Shape::kOpen : dims[d] + s[d];
      } else if (s[d] != s0[d] && s[d] != Shape::kOpen && s0[d] != Shape::kOpen) {
        ctx.fail(fmt::format("input {} has shape {}, which does not match {} off axis {}", i,
                             s.to_string(), s0.to_string(), axis));
      }
    }
  }
  return {TensorType{ctx.inputs[0].dtype, Shape(dims)}};
}

// Resolves begins/sizes of a slice against a shape; open dims stay open.
std::vector<TensorType> infer_slice(const InferContext& ctx, const TensorType& x) {
  const auto& begins = ctx.attrs.get_ints("begins");
  const auto& sizes = ctx.attrs.get_ints("sizes");
  if (begins.size() != x.shape.rank() || sizes.size() != x.shape.rank()) {
    ctx.fail(fmt::format("begins and sizes need {} entries", x.shape.rank()));
  }
  std::vector<std::int64_t> dims;
  for (std::size_t i = 0; i < begins.size(); ++i) {
    const std::int64_t n = x.shape[i], b = begins[i], s = sizes[i];
    if (b < 0 || s < -1) ctx.fail(fmt::format("invalid begin {} or size {} on axis {}", b, s, i));
    if (n != Shape::kOpen && (b > n || (s >= 0 && b + s > n))) {
      ctx.fail(fmt::format("slice [{}, +{}) is out of range on axis {} of size {}", b, s, i, n));
    }
    dims.push_back(s >= 0 ? s : (n == Shape::kOpen ? Shape::kOpen : n - b));
  }
  return {TensorType{x.dtype, Shape(dims)}};
}

}  // namespace

void register_shape_ops(OpRegistry& r) {
  // d reshape(x) = reshape(g, shape of x)
  r.add(view_when_same_size(make_op(
      "reshape", "same elements, another shape", 1, infer_reshape,
      [](const PullbackContext& c) -> std::vector<Grad> { return {reshape(c.g(), c.x().shape())}; },
      [] {
        return std::vector<Sample>{
            Sample{"flatten", {floats({2, 3, 2})}, Attrs{{"shape", Axes{2, -1}}}, true},
            Sample{"to_scalar", {floats({1, 1})}, Attrs{{"shape", Axes{}}}, true}};
      })));
  // d transpose(x, p) = transpose(g, p^-1)
  r.add(make_op(
      "transpose", "permutes axes", 1, infer_transpose,
      [](const PullbackContext& c) -> std::vector<Grad> {
        const auto& perm = c.attrs().get_ints("perm");
        Axes inv(perm.size());
        for (std::size_t i = 0; i < perm.size(); ++i) inv[static_cast<std::size_t>(perm[i])] = static_cast<std::int64_t>(i);
        return {transpose(c.g(), inv)};
      },
      [] {
        return std::vector<Sample>{
            Sample{"matrix", {floats({2, 3})}, Attrs{{"perm", Axes{1, 0}}}, true},
            Sample{"rank3", {floats({2, 3, 4})}, Attrs{{"perm", Axes{2, 0, 1}}}, true}};
      }));
  // d concat(x_1..x_k) = the slices of g that each x_i occupies
  r.add(make_op(
      "concat", "joins inputs along an axis", -1, infer_concat,
      [](const PullbackContext& c) -> std::vector<Grad> {
        const std::size_t rank = c.g().shape().rank();
        const auto axis = static_cast<std::size_t>(normalize_axis(c.attrs().get_int("axis"), rank));
        std::vector<Grad> out;
        std::int64_t offset = 0;
        for (std::size_t i = 0; i < c.inputs.size(); ++i) {
          const std::int64_t n = c.x(i).shape()[axis];
          if (n == Shape::kOpen) {
            for (std::size_t j = i; j < c.inputs.size(); ++j) {
              out.push_back(Grad::not_implemented("concat along an open dimension"));
            }
            break;
          }
          Axes begins(rank, 0), sizes(rank, -1);
          begins[axis] = offset;
          sizes[axis] = n;
          out.push_back(slice(c.g(), begins, sizes));
          offset += n;
        }
        return out;
      },
      [] {
        return std::vector<Sample>{
            Sample{"axis1", {floats({2, 1}), floats({2, 3})}, Attrs{{"axis", std::int64_t{1}}}, true},
            Sample{"three", {floats({1, 2}), floats({2, 2}), floats({1, 2})},
                   Attrs{{"axis", std::int64_t{0}}}, true}};
      }));
  // d slice(x) = g placed in zeros of x's shape (slice_grad)
  r.add(make_op(
      "slice", "x[begin : begin + size] on every axis (size -1: to the end)", 1,
      [](const InferContext& ctx) { return infer_slice(ctx, ctx.inputs[0]); },
      [](const PullbackContext& c) -> std::vector<Grad> {
        return {c.graph.apply1("slice_grad", {c.g(), c.x()}, c.attrs())};
      },
      [] {
        return std::vector<Sample>{
            Sample{"middle", {floats({3, 4})}, Attrs{{"begins", Axes{1, 1}}, {"sizes", Axes{2, 2}}}, true},
            Sample{"to_end", {floats({3, 4})}, Attrs{{"begins", Axes{0, 2}}, {"sizes", Axes{-1, -1}}}, true}};
      }));
  // slice_grad(g, like): zeros of like's shape with g at the slice; its adjoint is slice.
  r.add(make_op(
      "slice_grad", "zeros of like's shape with g written at the slice", 2,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_same_dtype(ctx);
        auto sliced = infer_slice(ctx, ctx.inputs[1]);
        const Shape& g = ctx.inputs[0].shape;
        const Shape& s = sliced[0].shape;
        for (std::size_t i = 0; i < g.rank() && g.rank() == s.rank(); ++i) {
          if (g[i] != s[i] && g[i] != Shape::kOpen && s[i] != Shape::kOpen) {
            ctx.fail(fmt::format("g has shape {}, the slice has {}", g.to_string(), s.to_string()));
          }
        }
        if (g.rank() != s.rank()) ctx.fail("g and the slice differ in rank");
        return {ctx.inputs[1]};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        return {slice(c.g(), c.attrs().get_ints("begins"), c.attrs().get_ints("sizes")),
                Grad::disconnected()};
      },
      [] {
        SampleInput like = floats({3, 4});
        like.differentiable = false;
        return std::vector<Sample>{Sample{
            "middle", {floats({2, 2}), like}, Attrs{{"begins", Axes{1, 1}}, {"sizes", Axes{2, 2}}}, true}};
      }));
}

}  // namespace ops_detail
}  // namespace symgrad
