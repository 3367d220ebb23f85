// Gradients of relu, tanh and sigmoid from g and the activation's output y, as ops of their own
// (oneDNN runs each as one eltwise backward primitive using the output; fused chains absorb them):
//   relu_backward(g, y)    = g [y > 0]
//   tanh_backward(g, y)    = g (1 - y^2)
//   sigmoid_backward(g, y) = g y (1 - y)
// Their own gradients differentiate these formulas (partial derivatives in g and y).

#include "op_helpers.hpp"

namespace symgrad {
namespace ops_detail {
namespace {

Value formula(const std::string& op, Value g, Value y) {
  if (op == "relu_backward") return g * greater(y, y.graph->scalar(0.0, y.dtype()));
  if (op == "tanh_backward") return g * (1.0 - square(y));
  return g * (y * (1.0 - y));
}

}  // namespace

Value activation_backward(const std::string& op, Value g, Value y) { return g.graph->apply1(op, {g, y}); }

Value activation_grad(Value g, Value y, const std::string& act) {
  return act == "none" ? g : activation_backward(act + "_backward", g, y);
}

void check_activation(const InferContext& ctx) {
  const std::string& act = ctx.attrs.get_string("activation");
  if (act != "none" && act != "relu" && act != "tanh" && act != "sigmoid") {
    ctx.fail("unknown activation '" + act + "' (none, relu, tanh or sigmoid)");
  }
}

void register_activation_backward_ops(OpRegistry& r) {
  struct Def {
    const char* name;
    const char* doc;
    double low, high;  // where samples of y lie (relu: away from its kink at 0)
  };
  for (const Def& d : {Def{"relu_backward", "gradient of relu from g and y: g [y > 0]", -1.0, 1.0},
                       Def{"tanh_backward", "gradient of tanh from g and y: g (1 - y^2)", -0.9, 0.9},
                       Def{"sigmoid_backward", "gradient of sigmoid from g and y: g y (1 - y)", 0.05, 0.95}}) {
    const std::string name = d.name;
    r.add(make_op(
        name, d.doc, 2,
        [](const InferContext& ctx) -> std::vector<TensorType> {
          require_float(ctx, 0);
          require_same_dtype(ctx);
          if (ctx.inputs[0].shape != ctx.inputs[1].shape) ctx.fail("g and y must have one shape");
          return {ctx.inputs[0]};
        },
        [name](const PullbackContext& c) -> std::vector<Grad> {
          std::vector<Value> wrt;
          for (std::size_t i = 0; i < 2; ++i) {
            if (c.needs[i]) wrt.push_back(c.x(i));
          }
          auto grads = c.partials({formula(name, c.x(0), c.x(1))}, {c.g()}, wrt);
          std::vector<Grad> out(2, Grad::disconnected());
          for (std::size_t i = 0, k = 0; i < 2; ++i) {
            if (c.needs[i]) out[i] = grads[k++];
          }
          return out;
        },
        [d] {
          return std::vector<Sample>{Sample{"matrix", {floats({2, 3}), floats({2, 3}, d.low, d.high)}, {}, true}};
        }));
  }
}

}  // namespace ops_detail
}  // namespace symgrad
