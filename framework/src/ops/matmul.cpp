// Matrix multiplication, 2-D and batched (leading dimensions broadcast).

#include <fmt/format.h>

#include "op_helpers.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad {

Value matmul(Value a, Value b) { return a.graph->apply1("matmul", {a, b}); }

namespace ops_detail {

void register_matmul_ops(OpRegistry& r) {
  // y = a b:  da = g b^T,  db = a^T g  (each summed back over broadcast batch dimensions)
  r.add(make_op(
      "matmul", "[..., m, k] x [..., k, n] -> [..., m, n]", 2,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        require_same_dtype(ctx);
        const Shape& a = ctx.inputs[0].shape;
        const Shape& b = ctx.inputs[1].shape;
        if (a.rank() < 2 || b.rank() < 2) ctx.fail("both operands need rank >= 2");
        const std::int64_t k1 = a[a.rank() - 1], k2 = b[b.rank() - 2];
        if (k1 != k2 && k1 != Shape::kOpen && k2 != Shape::kOpen) {
          ctx.fail(fmt::format("inner dimensions differ: {} x {}", a.to_string(), b.to_string()));
        }
        Shape ba(std::vector<std::int64_t>(a.dims().begin(), a.dims().end() - 2));
        Shape bb(std::vector<std::int64_t>(b.dims().begin(), b.dims().end() - 2));
        std::vector<std::int64_t> dims = broadcast_shapes(ba, bb).dims();
        dims.push_back(a[a.rank() - 2]);
        dims.push_back(b[b.rank() - 1]);
        return {TensorType{ctx.inputs[0].dtype, Shape(dims)}};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        std::vector<Grad> out(2, Grad::disconnected());
        if (c.needs[0]) out[0] = unbroadcast(matmul(c.g(), matrix_transpose(c.x(1))), c.x(0));
        if (c.needs[1]) out[1] = unbroadcast(matmul(matrix_transpose(c.x(0)), c.g()), c.x(1));
        return out;
      },
      [] {
        return std::vector<Sample>{Sample{"2d", {floats({2, 3}), floats({3, 4})}, {}, true},
                                   Sample{"batched", {floats({2, 2, 3}), floats({2, 3, 2})}, {}, true},
                                   Sample{"broadcast", {floats({2, 2, 3}), floats({3, 2})}, {}, true}};
      }));
}

}  // namespace ops_detail
}  // namespace symgrad
