// sgd: stochastic gradient descent with momentum, dampening, Nesterov momentum and coupled
// weight decay, as torch.optim.SGD (PyTorch 1.13) computes it; and the course's momentum, an
// exponentially weighted average with optional bias correction (ewa). See README.md.

#include <cmath>

#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Sgd final : public UpdateRule {
 public:
  Sgd(const Hyperparams& h, double default_momentum)
      : momentum_(h.real("momentum")), dampening_(h.real("dampening")),
        weight_decay_(h.real("weight_decay")), nesterov_(h.boolean("nesterov")), ewa_(h.boolean("ewa")),
        bias_correction_(h.boolean("bias_correction")) {
    // the course's momentum: beta in v = beta v + (1 - beta) g, the ewa form (the same number as
    // torch's heavy-ball momentum takes steps about 1 / (1 - beta) times larger)
    if (const double beta = h.real("beta"); beta > 0) {
      if (momentum_ != default_momentum) {
        throw UsageError("beta (the course's momentum, the ewa form) and momentum (torch's heavy ball) are two forms: give one");
      }
      momentum_ = beta;
      ewa_ = true;
    }
    if (nesterov_ && (momentum_ <= 0 || dampening_ != 0)) {
      throw UsageError("nesterov requires momentum > 0 and dampening = 0");
    }
    if (ewa_ && (momentum_ <= 0 || momentum_ >= 1 || nesterov_ || dampening_ != 0)) {
      throw UsageError("ewa requires 0 < momentum < 1, and no nesterov or dampening (it is its own form)");
    }
    if (bias_correction_ && !ewa_) throw UsageError("bias_correction applies to ewa momentum only");
  }

  Value update(OptimizerContext& ctx, const ParamGrad& p) override {
    Value g = p.grad;
    if (weight_decay_ != 0) g = g + weight_decay_ * p.param;  // g = g + wd p
    if (ewa_) {
      // v_t = b v_{t-1} + (1 - b) g from v_0 = 0;  with bias correction v_t / (1 - b^t)
      Value v = momentum_ * ctx.slot(p, "velocity") + (1 - momentum_) * g;
      ctx.set_slot(p, "velocity", v);
      g = bias_correction_ ? v / (1.0 - exp(ctx.step() * std::log(momentum_))) : v;
    } else if (momentum_ != 0) {
      // b_1 = g;  b_t = mu b_{t-1} + (1 - dampening) g   (t > 1)
      Value b = ctx.slot(p, "momentum_buffer");
      Value next = momentum_ * b + (1 - dampening_) * g;
      if (dampening_ != 0) next = where(less_equal(ctx.step(), ctx.graph().scalar(1.0, ctx.dtype())), g, next);  // b_0 = 0 covers t = 1 otherwise
      ctx.set_slot(p, "momentum_buffer", next);
      g = nesterov_ ? g + momentum_ * next : next;  // Nesterov: g + mu b_t;  classical: b_t
    }
    return p.param - ctx.lr() * g;  // p = p - lr g
  }

 private:
  double momentum_, dampening_, weight_decay_;
  bool nesterov_, ewa_, bias_correction_;
};

Schema sgd_schema(double momentum) {
  return Schema{real_param("lr", 0.01, "learning rate").greater_than(0),
                real_param("momentum", momentum, "momentum factor mu").at_least(0),
                real_param("dampening", 0.0, "dampening of the gradient in the momentum buffer").at_least(0).at_most(1),
                real_param("weight_decay", 0.0, "L2 penalty coefficient, added to the gradient").at_least(0),
                bool_param("nesterov", false, "Nesterov momentum (needs momentum > 0, dampening = 0)"),
                bool_param("ewa", false, "momentum as the average v = mu v + (1 - mu) g from 0 (the course's form)"),
                bool_param("bias_correction", false, "with ewa: step along v / (1 - mu^t)"),
                real_param("beta", 0.0, "the course's momentum: ewa with momentum = beta (0: not used)").at_least(0).less_than(1)};
}

void register_components(PluginRegistrar& r) {
  r.add_optimizer("sgd", "stochastic gradient descent with momentum and Nesterov momentum (torch.optim.SGD)",
                  sgd_schema(0.0), [](const Hyperparams& h) { return std::make_unique<Sgd>(h, 0.0); });
  // Polyak's heavy ball by its own name: sgd with momentum 0.9 unless set otherwise
  r.add_optimizer("momentum", "sgd with momentum 0.9 by default (Polyak's heavy ball)", sgd_schema(0.9),
                  [](const Hyperparams& h) { return std::make_unique<Sgd>(h, 0.9); });
}

}  // namespace

SYMGRAD_PLUGIN("sgd", "1.0.0", register_components)
