// sgd: stochastic gradient descent with momentum, dampening, Nesterov momentum and coupled
// weight decay, as torch.optim.SGD (PyTorch 1.13) computes it. See README.md.

#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Sgd final : public Optimizer {
 public:
  explicit Sgd(const Hyperparams& h)
      : lr_(h.real("lr")), momentum_(h.real("momentum")), dampening_(h.real("dampening")),
        weight_decay_(h.real("weight_decay")), nesterov_(h.boolean("nesterov")) {
    if (nesterov_ && (momentum_ <= 0 || dampening_ != 0)) {
      throw UsageError("nesterov requires momentum > 0 and dampening = 0");
    }
  }
  double initial_lr() const override { return lr_; }

  Value update(OptimizerContext& ctx, const ParamGrad& p) override {
    Value g = p.grad;
    if (weight_decay_ != 0) g = g + weight_decay_ * p.param;  // g = g + wd p
    if (momentum_ != 0) {
      // b_1 = g;  b_t = mu b_{t-1} + (1 - dampening) g   (t > 1)
      Value b = ctx.slot(p, "momentum_buffer");
      Value next = momentum_ * b + (1 - dampening_) * g;
      if (dampening_ != 0) next = where(less_equal(ctx.step(), ctx.graph().scalar(1.0, p.param.dtype())), g, next);  // b_0 = 0 covers t = 1 otherwise
      ctx.set_slot(p, "momentum_buffer", next);
      g = nesterov_ ? g + momentum_ * next : next;  // Nesterov: g + mu b_t;  classical: b_t
    }
    return p.param - ctx.lr() * g;  // p = p - lr g
  }

 private:
  double lr_, momentum_, dampening_, weight_decay_;
  bool nesterov_;
};

void register_components(PluginRegistrar& r) {
  r.add_optimizer("sgd", "stochastic gradient descent with momentum and Nesterov momentum (torch.optim.SGD)",
                  Schema{real_param("lr", 0.01, "learning rate").greater_than(0),
                         real_param("momentum", 0.0, "momentum factor mu").at_least(0),
                         real_param("dampening", 0.0, "dampening of the gradient in the momentum buffer").at_least(0).at_most(1),
                         real_param("weight_decay", 0.0, "L2 penalty coefficient, added to the gradient").at_least(0),
                         bool_param("nesterov", false, "Nesterov momentum (needs momentum > 0, dampening = 0)")},
                  [](const Hyperparams& h) { return std::make_unique<Sgd>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("sgd", "1.0.0", register_components)
