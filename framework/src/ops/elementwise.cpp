// Elementwise ops: binary arithmetic with broadcasting, unary math and activations,
// comparisons, where, cast, fill_like. Each pullback's math is in the comment above it.

#include <fmt/format.h>

#include "op_helpers.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad {
namespace {

Value scalar_like(Value x, double v) { return x.graph->scalar(v, x.dtype()); }

}  // namespace

// ---- builder functions ---------------------------------------------------------------------

Value add(Value a, Value b) { return a.graph->apply1("add", {a, b}); }
Value sub(Value a, Value b) { return a.graph->apply1("sub", {a, b}); }
Value mul(Value a, Value b) { return a.graph->apply1("mul", {a, b}); }
Value div(Value a, Value b) { return a.graph->apply1("div", {a, b}); }
Value operator+(Value a, Value b) { return add(a, b); }
Value operator-(Value a, Value b) { return sub(a, b); }
Value operator*(Value a, Value b) { return mul(a, b); }
Value operator/(Value a, Value b) { return div(a, b); }
Value operator+(Value a, double b) { return add(a, scalar_like(a, b)); }
Value operator+(double a, Value b) { return add(scalar_like(b, a), b); }
Value operator-(Value a, double b) { return sub(a, scalar_like(a, b)); }
Value operator-(double a, Value b) { return sub(scalar_like(b, a), b); }
Value operator*(Value a, double b) { return mul(a, scalar_like(a, b)); }
Value operator*(double a, Value b) { return mul(scalar_like(b, a), b); }
Value operator/(Value a, double b) { return div(a, scalar_like(a, b)); }
Value operator/(double a, Value b) { return div(scalar_like(b, a), b); }
Value operator-(Value a) { return neg(a); }

Value neg(Value x) { return x.graph->apply1("neg", {x}); }
Value exp(Value x) { return x.graph->apply1("exp", {x}); }
Value log(Value x) { return x.graph->apply1("log", {x}); }
Value sin(Value x) { return x.graph->apply1("sin", {x}); }
Value cos(Value x) { return x.graph->apply1("cos", {x}); }
Value sqrt(Value x) { return x.graph->apply1("sqrt", {x}); }
Value square(Value x) { return x.graph->apply1("square", {x}); }
Value abs(Value x) { return x.graph->apply1("abs", {x}); }
Value sign(Value x) { return x.graph->apply1("sign", {x}); }
Value pow(Value x, double p) { return x.graph->apply1("pow", {x}, Attrs{{"p", p}}); }
Value relu(Value x) { return x.graph->apply1("relu", {x}); }
Value leaky_relu(Value x, double alpha) {
  return x.graph->apply1("leaky_relu", {x}, Attrs{{"alpha", alpha}});
}
Value sigmoid(Value x) { return x.graph->apply1("sigmoid", {x}); }
Value tanh(Value x) { return x.graph->apply1("tanh", {x}); }
Value softplus(Value x) { return x.graph->apply1("softplus", {x}); }

Value equal(Value a, Value b) { return a.graph->apply1("equal", {a, b}); }
Value not_equal(Value a, Value b) { return a.graph->apply1("not_equal", {a, b}); }
Value less(Value a, Value b) { return a.graph->apply1("less", {a, b}); }
Value less_equal(Value a, Value b) { return a.graph->apply1("less_equal", {a, b}); }
Value greater(Value a, Value b) { return a.graph->apply1("greater", {a, b}); }
Value greater_equal(Value a, Value b) { return a.graph->apply1("greater_equal", {a, b}); }
Value where(Value m, Value a, Value b) { return m.graph->apply1("where", {m, a, b}); }
Value cast(Value x, DType dtype) {
  return x.graph->apply1("cast", {x}, Attrs{{"dtype", std::string(to_string(dtype))}});
}
Value fill_like(Value x, double value) {
  return x.graph->apply1("fill_like", {x}, Attrs{{"value", value}});
}
Value zeros_like(Value x) { return fill_like(x, 0.0); }

namespace ops_detail {
namespace {

std::vector<TensorType> infer_binary(const InferContext& ctx) {
  require_float(ctx, 0);
  require_same_dtype(ctx);
  return {TensorType{ctx.inputs[0].dtype, broadcast_shapes(ctx.inputs[0].shape, ctx.inputs[1].shape)}};
}

std::vector<TensorType> infer_unary(const InferContext& ctx) {
  require_float(ctx, 0);
  return {ctx.inputs[0]};
}

std::vector<TensorType> infer_compare(const InferContext& ctx) {
  require_same_dtype(ctx);
  return {TensorType{ctx.inputs[0].dtype, broadcast_shapes(ctx.inputs[0].shape, ctx.inputs[1].shape)}};
}

std::vector<Sample> binary_samples() {
  auto s = [](const char* label, Shape a, Shape b, double lo = -1, double hi = 1) {
    return Sample{label, {floats(a), floats(b, lo, hi)}, {}, true};
  };
  return {s("same", {2, 3}, {2, 3}), s("row", {2, 3}, {3}), s("outer", {2, 1}, {1, 3}),
          s("scalar", {}, {2, 3})};
}

std::vector<Sample> positive_divisor_samples() {
  return {Sample{"same", {floats({2, 3}), floats({2, 3}, 0.5, 2.0)}, {}, true},
          Sample{"row", {floats({2, 3}), floats({3}, 0.5, 2.0)}, {}, true},
          Sample{"column", {floats({3}), floats({2, 1}, 0.5, 2.0)}, {}, true}};
}

SamplesFn unary_samples(double lo = -1, double hi = 1) {
  return [lo, hi] {
    return std::vector<Sample>{Sample{"matrix", {floats({2, 3}, lo, hi)}, {}, true},
                               Sample{"scalar", {floats({}, lo, hi)}, {}, true}};
  };
}

void add_binary(OpRegistry& r, const char* name, const char* doc, PullbackFn pb,
                SamplesFn samples = binary_samples) {
  r.add(make_op(name, doc, 2, infer_binary, std::move(pb), std::move(samples)));
}

void add_unary(OpRegistry& r, const char* name, const char* doc,
               std::function<Value(const PullbackContext&)> dx, SamplesFn samples,
               InferFn infer = infer_unary) {
  r.add(make_op(name, doc, 1, std::move(infer),
                [dx = std::move(dx)](const PullbackContext& c) -> std::vector<Grad> {
                  return {dx(c)};
                },
                std::move(samples)));
}

std::vector<Grad> no_gradient(const PullbackContext& c) {
  return std::vector<Grad>(c.inputs.size(), Grad::disconnected());
}

}  // namespace

void register_elementwise_ops(OpRegistry& r) {
  // d(a+b) = g, g (each summed back over its broadcast axes)
  add_binary(r, "add", "a + b", [](const PullbackContext& c) -> std::vector<Grad> {
    return {unbroadcast(c.g(), c.x(0), {c.x(1)}), unbroadcast(c.g(), c.x(1), {c.x(0)})};
  });
  // d(a-b) = g, -g
  add_binary(r, "sub", "a - b", [](const PullbackContext& c) -> std::vector<Grad> {
    return {unbroadcast(c.g(), c.x(0), {c.x(1)}), unbroadcast(-c.g(), c.x(1), {c.x(0)})};
  });
  // d(ab) = g b, g a
  add_binary(r, "mul", "a * b", [](const PullbackContext& c) -> std::vector<Grad> {
    std::vector<Grad> out(2, Grad::disconnected());
    if (c.needs[0]) out[0] = unbroadcast(c.g() * c.x(1), c.x(0), {c.x(1)});
    if (c.needs[1]) out[1] = unbroadcast(c.g() * c.x(0), c.x(1), {c.x(0)});
    return out;
  });
  // d(a/b) = g / b, -g a / b^2 = -g y / b
  add_binary(
      r, "div", "a / b",
      [](const PullbackContext& c) -> std::vector<Grad> {
        std::vector<Grad> out(2, Grad::disconnected());
        if (c.needs[0]) out[0] = unbroadcast(c.g() / c.x(1), c.x(0), {c.x(1)});
        if (c.needs[1]) out[1] = unbroadcast(-(c.g() * c.y()) / c.x(1), c.x(1), {c.x(0)});
        return out;
      },
      positive_divisor_samples);

  add_unary(r, "neg", "-x", [](const PullbackContext& c) { return -c.g(); }, unary_samples());
  // d e^x = g e^x = g y
  add_unary(r, "exp", "e^x", [](const PullbackContext& c) { return c.g() * c.y(); },
            unary_samples());
  // d log x = g / x
  add_unary(r, "log", "natural logarithm", [](const PullbackContext& c) { return c.g() / c.x(); },
            unary_samples(0.5, 2.0));
  // d sqrt(x) = g / (2 sqrt(x)) = 0.5 g / y
  add_unary(r, "sqrt", "square root",
            [](const PullbackContext& c) { return (c.g() * 0.5) / c.y(); }, unary_samples(0.5, 2.0));
  // d x^2 = 2 g x
  add_unary(r, "square", "x^2", [](const PullbackContext& c) { return c.g() * (c.x() * 2.0); },
            unary_samples());
  // d |x| = g sign(x)
  add_unary(r, "abs", "|x|", [](const PullbackContext& c) { return c.g() * sign(c.x()); },
            unary_samples());
  // sign is piecewise constant: its gradient is zero where it exists.
  r.add(make_op("sign", "-1, 0 or 1", 1, infer_unary, no_gradient, unary_samples()));
  // d x^p = g p x^(p-1)
  r.add(make_op(
      "pow", "x^p for a scalar attribute p", 1, infer_unary,
      [](const PullbackContext& c) -> std::vector<Grad> {
        const double p = c.attrs().get_float("p");
        return {c.g() * (pow(c.x(), p - 1.0) * p)};
      },
      [] {
        return std::vector<Sample>{
            Sample{"cube", {floats({2, 3})}, Attrs{{"p", 3.0}}, true},
            Sample{"root", {floats({2, 3}, 0.5, 2.0)}, Attrs{{"p", 0.5}}, true},
            Sample{"inverse", {floats({4}, 0.5, 2.0)}, Attrs{{"p", -1.5}}, true}};
      }));
  // d relu(x) = g [x > 0] = g [y > 0]: written with the output, so that the pre-activation is
  // not needed after the forward pass (and matmul + bias + relu can fuse into one kernel)
  add_unary(r, "relu", "max(x, 0)",
            [](const PullbackContext& c) { return activation_backward("relu_backward", c.g(), c.y()); },
            unary_samples());
  // d leaky_relu(x) = g where x > 0, alpha g elsewhere
  add_unary(
      r, "leaky_relu", "x for x > 0, alpha x otherwise",
      [](const PullbackContext& c) {
        const double alpha = c.attrs().get_float("alpha");
        return where(greater(c.x(), scalar_like(c.x(), 0)), c.g(), c.g() * alpha);
      },
      [] {
        return std::vector<Sample>{Sample{"matrix", {floats({2, 3})}, Attrs{{"alpha", 0.1}}, true}};
      });
  // d sigmoid(x) = g y (1 - y)
  add_unary(r, "sigmoid", "1 / (1 + e^-x)",
            [](const PullbackContext& c) { return activation_backward("sigmoid_backward", c.g(), c.y()); },
            unary_samples(-3, 3));
  // d tanh(x) = g (1 - y^2)
  add_unary(r, "tanh", "hyperbolic tangent",
            [](const PullbackContext& c) { return activation_backward("tanh_backward", c.g(), c.y()); },
            unary_samples(-2, 2));
  // d sin(x) = g cos(x);  d cos(x) = -g sin(x)
  add_unary(r, "sin", "sine", [](const PullbackContext& c) { return c.g() * cos(c.x()); }, unary_samples(-3, 3));
  add_unary(r, "cos", "cosine", [](const PullbackContext& c) { return -(c.g() * sin(c.x())); }, unary_samples(-3, 3));
  // d softplus(x) = g sigmoid(x)
  add_unary(r, "softplus", "log(1 + e^x)",
            [](const PullbackContext& c) { return c.g() * sigmoid(c.x()); }, unary_samples(-3, 3));

  // Comparisons are piecewise constant: zero gradient (disconnected) for both operands.
  for (const char* name : {"equal", "not_equal", "less", "less_equal", "greater", "greater_equal"}) {
    r.add(make_op(name, "comparison: 1 where true, 0 where false", 2, infer_compare, no_gradient,
                  [] {
                    SampleInput a = floats({2, 3}), b = floats({3});
                    a.differentiable = b.differentiable = false;
                    return std::vector<Sample>{Sample{"row", {a, b}, {}, false}};
                  }));
  }

  // where(m, a, b): da = g where m, db = g where !m; the mask has none.
  r.add(make_op(
      "where", "mask != 0 ? a : b", 3,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 1);
        if (ctx.inputs[1].dtype != ctx.inputs[2].dtype) {
          ctx.fail("the two branches must share one dtype");
        }
        Shape s = broadcast_shapes(ctx.inputs[0].shape,
                                   broadcast_shapes(ctx.inputs[1].shape, ctx.inputs[2].shape));
        return {TensorType{ctx.inputs[1].dtype, s}};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        Value zero = scalar_like(c.g(), 0.0);
        std::vector<Grad> out(3, Grad::disconnected());
        if (c.needs[1]) out[1] = unbroadcast(where(c.x(0), c.g(), zero), c.x(1), {c.x(0), c.x(2)});
        if (c.needs[2]) out[2] = unbroadcast(where(c.x(0), zero, c.g()), c.x(2), {c.x(0), c.x(1)});
        return out;
      },
      [] {
        return std::vector<Sample>{
            Sample{"same", {mask({2, 3}), floats({2, 3}), floats({2, 3})}, {}, true},
            Sample{"broadcast", {mask({2, 3}), floats({3}), floats({})}, {}, true}};
      }));

  // cast between floating types: d = cast(g) back; across int and float: undefined.
  r.add(make_op(
      "cast", "converts the dtype", 1,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        return {TensorType{parse_dtype(ctx.attrs.get_string("dtype")), ctx.inputs[0].shape}};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        if (!is_floating(c.x().dtype()) || !is_floating(c.y().dtype())) {
          return {Grad::undefined("cast between integer and floating types has no gradient")};
        }
        return {cast(c.g(), c.x().dtype())};
      },
      [] {
        return std::vector<Sample>{Sample{"f64_to_f64", {floats({2, 3})}, Attrs{{"dtype", "f64"}}, true}};
      }));

  r.add(make_op(
      "fill_like", "a tensor of x's type filled with `value`", 1,
      [](const InferContext& ctx) -> std::vector<TensorType> { return {ctx.inputs[0]}; },
      no_gradient,
      [] {
        SampleInput a = floats({2, 3});
        a.differentiable = false;
        return std::vector<Sample>{Sample{"matrix", {a}, Attrs{{"value", 2.5}}, false}};
      }));
}

}  // namespace ops_detail
}  // namespace symgrad
