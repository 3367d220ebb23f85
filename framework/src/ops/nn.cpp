// Neural-network ops: softmax, log_softmax, softmax cross-entropy with integer labels, one_hot,
// mean squared error, dropout with a given mask.

#include <fmt/format.h>

#include "op_helpers.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad {

Value softmax(Value x, std::int64_t axis) {
  return x.graph->apply1("softmax", {x}, Attrs{{"axis", axis}});
}
Value log_softmax(Value x, std::int64_t axis) {
  return x.graph->apply1("log_softmax", {x}, Attrs{{"axis", axis}});
}
Value softmax_cross_entropy(Value logits, Value labels) {
  return logits.graph->apply1("softmax_cross_entropy", {logits, labels});
}
Value one_hot(Value labels, std::int64_t depth, DType dtype) {
  return labels.graph->apply1("one_hot", {labels},
                              Attrs{{"depth", depth}, {"dtype", std::string(to_string(dtype))}});
}
Value mse(Value prediction, Value target) {
  return prediction.graph->apply1("mse", {prediction, target});
}
Value dropout(Value x, Value mask, double p) {
  if (!(p >= 0.0 && p < 1.0)) {
    throw UsageError(fmt::format("dropout probability must be in [0, 1), got {}", p));
  }
  return x.graph->apply1("dropout", {x, mask}, Attrs{{"p", p}});
}

namespace ops_detail {
namespace {

std::vector<TensorType> infer_softmax(const InferContext& ctx) {
  require_float(ctx, 0);
  normalize_axis(ctx.attrs.get_int("axis"), ctx.inputs[0].shape.rank());
  return {ctx.inputs[0]};
}

std::vector<Sample> softmax_samples() {
  return {Sample{"last", {floats({2, 4}, -2, 2)}, Attrs{{"axis", std::int64_t{-1}}}, true},
          Sample{"first", {floats({3, 2}, -2, 2)}, Attrs{{"axis", std::int64_t{0}}}, true}};
}

Tensor labels_tensor(std::vector<double> v) {
  return Tensor::from(DType::i64, Shape{static_cast<std::int64_t>(v.size())}, v);
}

void check_labels(const InferContext& ctx, std::size_t i) {
  const TensorType& l = ctx.inputs[i];
  if (l.dtype != DType::i32 && l.dtype != DType::i64) {
    ctx.fail(fmt::format("labels must be i32 or i64, got {}", l.to_string()));
  }
  if (l.shape.rank() != 1) ctx.fail(fmt::format("labels must be [N], got {}", l.to_string()));
}

Value softmax_backward(Value g, Value y, std::int64_t axis, bool log) {
  return g.graph->apply1("softmax_backward", {g, y}, Attrs{{"axis", axis}, {"log", std::int64_t{log}}});
}

// The formula of softmax_backward as graph.
Value softmax_backward_formula(Value g, Value y, std::int64_t axis, bool log) {
  if (log) return g - exp(y) * sum(g, {axis}, true);
  return y * (g - sum(g * y, {axis}, true));
}

}  // namespace

void register_nn_ops(OpRegistry& r) {
  // y = softmax(x):  dx = y (g - sum(g y, axis)), as one softmax_backward op
  r.add(make_op(
      "softmax", "exp(x) / sum(exp(x)) along an axis", 1, infer_softmax,
      [](const PullbackContext& c) -> std::vector<Grad> {
        return {softmax_backward(c.g(), c.y(), c.attrs().get_int("axis"), false)};
      },
      softmax_samples));
  // y = log_softmax(x):  dx = g - exp(y) sum(g, axis), as one softmax_backward op
  r.add(make_op(
      "log_softmax", "x - log(sum(exp(x))) along an axis", 1, infer_softmax,
      [](const PullbackContext& c) -> std::vector<Grad> {
        return {softmax_backward(c.g(), c.y(), c.attrs().get_int("axis"), true)};
      },
      softmax_samples));
  // dx of softmax (log = 0) or log_softmax (log = 1) from g and the output y; oneDNN's softmax
  // backward needs exactly these. Its own gradient differentiates the formula above.
  r.add(make_op(
      "softmax_backward", "gradient of softmax or log_softmax from g and the output y", 2,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        require_same_dtype(ctx);
        if (ctx.inputs[0].shape != ctx.inputs[1].shape) ctx.fail("g and y must have one shape");
        normalize_axis(ctx.attrs.get_int("axis"), ctx.inputs[0].shape.rank());
        return {ctx.inputs[0]};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        Value dx = softmax_backward_formula(c.x(0), c.x(1), c.attrs().get_int("axis"), c.attrs().get_int("log") != 0);
        std::vector<Value> wrt;
        for (std::size_t i = 0; i < 2; ++i) {
          if (c.needs[i]) wrt.push_back(c.x(i));
        }
        auto grads = c.partials({dx}, {c.g()}, wrt);  // partial derivatives
        std::vector<Grad> out(2, Grad::disconnected());
        for (std::size_t i = 0, k = 0; i < 2; ++i) {
          if (c.needs[i]) out[i] = grads[k++];
        }
        return out;
      },
      [] {
        auto s = [](const char* label, std::int64_t axis, std::int64_t log, Shape shape) {
          // y is a softmax output: positive (or, for log_softmax, negative) values
          return Sample{label, {floats(shape), log ? floats(shape, -3.0, -0.2) : floats(shape, 0.05, 0.9)},
                        Attrs{{"axis", axis}, {"log", log}}, true};
        };
        return std::vector<Sample>{s("softmax_last", -1, 0, {2, 4}), s("softmax_first", 0, 0, {3, 2}),
                                   s("log_softmax", -1, 1, {2, 4})};
      }));
  // loss_i = logsumexp(z_i) - z_i[y_i]:  dz = (softmax(z) - onehot(y)) g_i;  labels: undefined
  r.add(make_op(
      "softmax_cross_entropy", "per-example cross-entropy of logits [N, C] and labels [N]", 2,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        require_rank(ctx, 0, 2);
        check_labels(ctx, 1);
        const std::int64_t n = ctx.inputs[0].shape[0], m = ctx.inputs[1].shape[0];
        if (n != m && n != Shape::kOpen && m != Shape::kOpen) {
          ctx.fail(fmt::format("{} rows of logits but {} labels", n, m));
        }
        if (ctx.inputs[0].shape[1] == Shape::kOpen) ctx.fail("the class dimension must be static");
        return {TensorType{ctx.inputs[0].dtype, Shape{n == Shape::kOpen ? m : n}}};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        Value z = c.x(0);
        Value target = one_hot(c.x(1), z.shape()[1], z.dtype());
        Value g = reshape(c.g(), Shape{-1, 1});
        return {(softmax(z, -1) - target) * g,
                Grad::undefined("integer labels have no gradient")};
      },
      [] {
        return std::vector<Sample>{
            Sample{"four_classes", {floats({3, 4}, -2, 2), fixed(labels_tensor({0, 3, 1}))}, {}, true}};
      }));
  r.add(make_op(
      "one_hot", "rows of zeros with a one at each label", 1,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        check_labels(ctx, 0);
        const std::int64_t depth = ctx.attrs.get_int("depth");
        if (depth <= 0) ctx.fail(fmt::format("depth must be positive, got {}", depth));
        return {TensorType{parse_dtype(ctx.attrs.get_string("dtype")),
                           Shape{ctx.inputs[0].shape[0], depth}}};
      },
      [](const PullbackContext&) -> std::vector<Grad> {
        return {Grad::undefined("integer labels have no gradient")};
      },
      [] {
        return std::vector<Sample>{Sample{"three",
                                          {fixed(labels_tensor({2, 0, 1}))},
                                          Attrs{{"depth", std::int64_t{3}}, {"dtype", "f64"}},
                                          false}};
      }));
  // mse = mean((p - t)^2):  dp = 2 g (p - t) / n,  dt = -dp
  r.add(make_op(
      "mse", "mean((prediction - target)^2)", 2,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        require_same_dtype(ctx);
        if (ctx.inputs[0].shape != ctx.inputs[1].shape) {
          ctx.fail(fmt::format("prediction {} and target {} must have the same shape",
                               ctx.inputs[0].shape.to_string(), ctx.inputs[1].shape.to_string()));
        }
        return {TensorType{ctx.inputs[0].dtype, Shape{}}};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        Value d = c.x(0) - c.x(1);
        Value dp = d * (c.g() * 2.0 / count(d));
        std::vector<Grad> out(2, Grad::disconnected());
        if (c.needs[0]) out[0] = dp;
        if (c.needs[1]) out[1] = -dp;
        return out;
      },
      [] {
        return std::vector<Sample>{Sample{"matrix", {floats({2, 3}), floats({2, 3})}, {}, true}};
      }));
  // y = x m / (1 - p):  dx = g m / (1 - p),  dm = g x / (1 - p)
  r.add(make_op(
      "dropout", "inverted dropout with a given 0/1 mask: x * mask / (1 - p)", 2,
      [](const InferContext& ctx) -> std::vector<TensorType> {
        require_float(ctx, 0);
        require_same_dtype(ctx);
        if (ctx.inputs[0].shape != ctx.inputs[1].shape) {
          ctx.fail(fmt::format("mask {} must have the shape of x {}", ctx.inputs[1].shape.to_string(),
                               ctx.inputs[0].shape.to_string()));
        }
        const double p = ctx.attrs.get_float("p");
        if (!(p >= 0.0 && p < 1.0)) ctx.fail(fmt::format("p must be in [0, 1), got {}", p));
        return {ctx.inputs[0]};
      },
      [](const PullbackContext& c) -> std::vector<Grad> {
        const double scale = 1.0 / (1.0 - c.attrs().get_float("p"));
        std::vector<Grad> out(2, Grad::disconnected());
        if (c.needs[0]) out[0] = c.g() * c.x(1) * scale;
        if (c.needs[1]) out[1] = c.g() * c.x(0) * scale;
        return out;
      },
      [] {
        return std::vector<Sample>{Sample{"half", {floats({2, 3}), mask({2, 3})}, Attrs{{"p", 0.5}}, true}};
      }));
}

}  // namespace ops_detail
}  // namespace symgrad
