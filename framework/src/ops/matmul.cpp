// Matrix multiplication, 2-D and batched (leading dimensions broadcast), with optional
// transposition of either operand's last two axes (attributes transpose_a, transpose_b), so that
// gradients are matmuls of transposed operands and never materialize a transpose.

#include <fmt/format.h>

#include "op_helpers.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad {

Value matmul(Value a, Value b, bool transpose_a, bool transpose_b) {
  Attrs attrs;
  if (transpose_a) attrs.set("transpose_a", std::int64_t{1});
  if (transpose_b) attrs.set("transpose_b", std::int64_t{1});
  return a.graph->apply1("matmul", {a, b}, attrs);
}

Value linear(Value x, Value w, Value b, const std::string& activation) {
  return x.graph->apply1("linear", {x, w, b}, Attrs{{"activation", activation}});
}

namespace ops_detail {
namespace {

// op(a) op(b) with op = identity or transpose of the last two axes.
Value mm(Value a, Value b, bool ta, bool tb) { return matmul(a, b, ta, tb); }

}  // namespace

void register_matmul_ops(OpRegistry& r) {
  // y = op(a) op(b). With A = op(a), B = op(b): dA = g B^T, dB = A^T g, mapped back through op:
  //   y = a b:      da = g b^T,    db = a^T g
  //   y = a b^T:    da = g b,      db = g^T a
  //   y = a^T b:    da = b g^T,    db = a g
  //   y = a^T b^T:  da = b^T g^T,  db = g^T a^T
  // (each summed back over broadcast batch dimensions)
  r.add(make_op(
      "matmul", "[..., m, k] x [..., k, n] -> [..., m, n], operands optionally transposed", 2,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        require_same_dtype(ctx);
        const Shape& a = ctx.inputs[0].shape;
        const Shape& b = ctx.inputs[1].shape;
        if (a.rank() < 2 || b.rank() < 2) ctx.fail("both operands need rank >= 2");
        const bool ta = ctx.attrs.get_int("transpose_a", 0) != 0;
        const bool tb = ctx.attrs.get_int("transpose_b", 0) != 0;
        const std::int64_t m = ta ? a[a.rank() - 1] : a[a.rank() - 2];
        const std::int64_t k1 = ta ? a[a.rank() - 2] : a[a.rank() - 1];
        const std::int64_t k2 = tb ? b[b.rank() - 1] : b[b.rank() - 2];
        const std::int64_t n = tb ? b[b.rank() - 2] : b[b.rank() - 1];
        if (k1 != k2 && k1 != Shape::kOpen && k2 != Shape::kOpen) {
          ctx.fail(fmt::format("inner dimensions differ: {}{} x {}{}", a.to_string(), ta ? "^T" : "",
                               b.to_string(), tb ? "^T" : ""));
        }
        Shape ba(std::vector<std::int64_t>(a.dims().begin(), a.dims().end() - 2));
        Shape bb(std::vector<std::int64_t>(b.dims().begin(), b.dims().end() - 2));
        std::vector<std::int64_t> dims = broadcast_shapes(ba, bb).dims();
        dims.push_back(m);
        dims.push_back(n);
        return {TensorType{ctx.inputs[0].dtype, Shape(dims)}};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        const bool ta = c.attrs().get_int("transpose_a", 0) != 0;
        const bool tb = c.attrs().get_int("transpose_b", 0) != 0;
        Value a = c.x(0), b = c.x(1), g = c.g();
        // only batch dimensions broadcast: compare the operands' batch parts
        const bool matrices = a.shape().rank() == 2 && b.shape().rank() == 2;
        auto back = [&](Value d, Value x, Value other) { return matrices ? d : unbroadcast(d, x, {other}); };
        std::vector<Grad> out(2, Grad::disconnected());
        if (c.needs[0]) out[0] = back(ta ? mm(b, g, tb, true) : mm(g, b, false, !tb), a, b);
        if (c.needs[1]) out[1] = back(tb ? mm(g, a, true, ta) : mm(a, g, !ta, false), b, a);
        return out;
      },
      [] {
        auto flags = [](bool ta, bool tb) {
          Attrs a;
          if (ta) a.set("transpose_a", std::int64_t{1});
          if (tb) a.set("transpose_b", std::int64_t{1});
          return a;
        };
        return std::vector<Sample>{
            Sample{"2d", {floats({2, 3}), floats({3, 4})}, {}, true},
            Sample{"batched", {floats({2, 2, 3}), floats({2, 3, 2})}, {}, true},
            Sample{"broadcast", {floats({2, 2, 3}), floats({3, 2})}, {}, true},
            Sample{"a_t", {floats({3, 2}), floats({3, 4})}, flags(true, false), true},
            Sample{"b_t", {floats({2, 3}), floats({4, 3})}, flags(false, true), true},
            Sample{"both_t_batched", {floats({2, 3, 2}), floats({4, 3})}, flags(true, true), true}};
      }));
  // y = act(x w + b) for x [N, K], w [K, M], b [M]; with z = x w + b and dz = act'(z) g:
  //   dx = dz w^T,  dw = x^T dz,  db = sum_rows(dz)
  // The compiler also forms it from matmul, add and activation nodes on backends that fuse.
  r.add(make_op(
      "linear", "act(x w + b): matmul, bias and activation in one op", 3,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        require_same_dtype(ctx);
        require_rank(ctx, 0, 2);
        require_rank(ctx, 1, 2);
        const Shape& x = ctx.inputs[0].shape;
        const Shape& w = ctx.inputs[1].shape;
        if (x[1] != w[0] && x[1] != Shape::kOpen && w[0] != Shape::kOpen) {
          ctx.fail(fmt::format("inner dimensions differ: {} x {}", x.to_string(), w.to_string()));
        }
        if (ctx.inputs[2].shape != Shape{w[1]}) {
          ctx.fail(fmt::format("bias must be [{}], got {}", w[1], ctx.inputs[2].shape.to_string()));
        }
        check_activation(ctx);
        return {TensorType{ctx.inputs[0].dtype, Shape{x[0], w[1]}}};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        Value dz = activation_grad(c.g(), c.y(), c.attrs().get_string("activation"));
        std::vector<Grad> out(3, Grad::disconnected());
        if (c.needs[0]) out[0] = matmul(dz, c.x(1), false, true);
        if (c.needs[1]) out[1] = matmul(c.x(0), dz, true, false);
        if (c.needs[2]) out[2] = sum(dz, {0});
        return out;
      },
      [] {
        auto s = [](const char* act) {
          return Sample{act, {floats({3, 4}), floats({4, 2}), floats({2})}, Attrs{{"activation", std::string(act)}}, true};
        };
        return std::vector<Sample>{s("none"), s("relu"), s("tanh"), s("sigmoid")};
      }));
}

}  // namespace ops_detail
}  // namespace symgrad
