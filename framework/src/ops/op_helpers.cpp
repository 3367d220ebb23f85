#include "op_helpers.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

namespace symgrad {

void register_builtin_ops(OpRegistry& r) {
  using namespace ops_detail;
  register_elementwise_ops(r);
  register_reduce_ops(r);
  register_shape_ops(r);
  register_matmul_ops(r);
  register_nn_ops(r);
  register_conv_ops(r);
  register_pool_ops(r);
  register_collective_ops(r);
  register_batch_norm_ops(r);
  register_activation_backward_ops(r);
}

namespace ops_detail {

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const std::size_t rank = std::max(a.rank(), b.rank());
  std::vector<std::int64_t> out(rank);
  for (std::size_t i = 0; i < rank; ++i) {
    const std::int64_t da = i < rank - a.rank() ? 1 : a[i - (rank - a.rank())];
    const std::int64_t db = i < rank - b.rank() ? 1 : b[i - (rank - b.rank())];
    if (da == db || db == 1) {
      out[i] = da;
    } else if (da == 1) {
      out[i] = db;
    } else if (da == Shape::kOpen) {
      out[i] = db;
    } else if (db == Shape::kOpen) {
      out[i] = da;
    } else {
      throw ShapeError(fmt::format("shapes {} and {} do not broadcast (dimension {}: {} vs {})",
                                   a.to_string(), b.to_string(), i, da, db));
    }
  }
  return Shape(std::move(out));
}

void require_float(const InferContext& ctx, std::size_t i) {
  if (!is_floating(ctx.inputs[i].dtype)) {
    ctx.fail(fmt::format("input {} must be f32 or f64, got {}", i, ctx.inputs[i].to_string()));
  }
}

void require_same_dtype(const InferContext& ctx) {
  for (std::size_t i = 1; i < ctx.inputs.size(); ++i) {
    if (ctx.inputs[i].dtype != ctx.inputs[0].dtype) {
      ctx.fail(fmt::format("inputs must share one dtype: input 0 is {}, input {} is {}",
                           ctx.inputs[0].to_string(), i, ctx.inputs[i].to_string()));
    }
  }
}

void require_rank(const InferContext& ctx, std::size_t i, std::size_t rank) {
  if (ctx.inputs[i].shape.rank() != rank) {
    ctx.fail(fmt::format("input {} must have rank {}, got {}", i, rank, ctx.inputs[i].to_string()));
  }
}

Value unbroadcast(Value g, Value x, const std::vector<Value>& others) {
  const Shape& xs = x.shape();
  if (g.shape() == xs) {
    bool fixed = true;  // no open dimension of x can be broadcast at run time
    for (std::size_t i = 0; i < xs.rank(); ++i) {
      if (xs[i] != Shape::kOpen) continue;
      const std::size_t from_end = xs.rank() - i;
      for (const Value& o : others) {
        const Shape& os = o.shape();
        if (from_end <= os.rank() && os[os.rank() - from_end] != 1) fixed = false;
      }
    }
    if (fixed) return g;
  }
  return sum_to_like(g, x);
}

Value keepdims_grad(Value g, Value x, const std::vector<std::int64_t>& axes, bool keepdims) {
  if (keepdims) return g;
  Shape keep = reduced_shape(x.shape(), axes, true);
  return reshape(g, keep);
}

SampleInput floats(const Shape& shape, double low, double high) {
  SampleInput s;
  s.type = TensorType{DType::f64, shape};
  s.low = low;
  s.high = high;
  return s;
}

SampleInput fixed(const Tensor& value) {
  SampleInput s;
  s.type = value.type();
  s.value = value;
  s.differentiable = false;
  return s;
}

SampleInput mask(const Shape& shape) {
  Tensor t(DType::f64, shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, (i * 7 + 3) % 5 < 3 ? 1.0 : 0.0);
  return fixed(t);
}

OpDef make_op(std::string name, std::string doc, int arity, InferFn infer, PullbackFn pullback,
              SamplesFn samples) {
  OpDef d;
  d.name = std::move(name);
  d.doc = std::move(doc);
  d.arity = arity;
  d.infer = std::move(infer);
  d.pullback = std::move(pullback);
  d.samples = std::move(samples);
  return d;
}

}  // namespace ops_detail
}  // namespace symgrad
