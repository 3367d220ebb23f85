// nadam: Adam with Nesterov momentum (Dozat, "Incorporating Nesterov Momentum into Adam", ICLR
// 2016 workshop), as torch.optim.NAdam (1.13). With mu_t = b1 (1 - 0.5 * 0.96^(t psi)), psi the
// momentum decay, and the product of the mu's kept as the optimizer's scalar state:
//   prod_t = prod_{t-1} mu_t
//   m_t = b1 m_{t-1} + (1 - b1) g;   v_t = b2 v_{t-1} + (1 - b2) g^2
//   d = sqrt(v_t / (1 - b2^t)) + eps
//   p_t = p - lr (1 - mu_t) / (1 - prod_t) * g / d - lr mu_{t+1} / (1 - prod_t mu_{t+1}) * m_t / d
// The mu's, the product and the two coefficients are scalars computed once per step (begin_step);
// the product is one variable, "optimizer/nadam/mu_product", not one per element.
#include <cmath>

#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Nadam final : public UpdateRule {
 public:
  explicit Nadam(const Hyperparams& h)
      : b1_(h.real("beta1")), b2_(h.real("beta2")), eps_(h.real("eps")), wd_(h.real("weight_decay")),
        psi_(h.real("momentum_decay")) {}

  void begin_step(OptimizerContext& ctx) override {
    Value t = ctx.step();
    // 0.96^(t psi) = exp(t psi log 0.96): t is a graph value, so the plan is built once
    Value mu = b1_ * (1.0 - 0.5 * exp(t * (psi_ * std::log(0.96))));
    Value mu_next = b1_ * (1.0 - 0.5 * exp((t + 1.0) * (psi_ * std::log(0.96))));
    Value product = ctx.state("mu_product", 1.0) * mu;
    ctx.set_state("mu_product", product);
    grad_coefficient_ = ctx.lr() * (1.0 - mu) / (1.0 - product);
    momentum_coefficient_ = ctx.lr() * mu_next / (1.0 - product * mu_next);
    bias2_ = 1.0 - exp(t * std::log(b2_));
  }

  Value update(OptimizerContext& ctx, const ParamGrad& p) override {
    Value g = wd_ != 0 ? p.grad + wd_ * p.param : p.grad;  // coupled: g = g + wd p
    Value m = b1_ * ctx.slot(p, "exp_avg") + (1 - b1_) * g;
    Value v = b2_ * ctx.slot(p, "exp_avg_sq") + (1 - b2_) * square(g);
    ctx.set_slot(p, "exp_avg", m);
    ctx.set_slot(p, "exp_avg_sq", v);
    Value denom = sqrt(v / bias2_) + eps_;
    return p.param - grad_coefficient_ * (g / denom) - momentum_coefficient_ * (m / denom);
  }

 private:
  double b1_, b2_, eps_, wd_, psi_;
  Value grad_coefficient_, momentum_coefficient_, bias2_;  // this step's, from begin_step
};

void register_components(PluginRegistrar& r) {
  r.add_optimizer("nadam", "Adam with Nesterov momentum (torch.optim.NAdam)",
                  Schema{real_param("lr", 2e-3, "learning rate").greater_than(0),
                         real_param("beta1", 0.9, "decay of the first-moment average").at_least(0).less_than(1),
                         real_param("beta2", 0.999, "decay of the second-moment average").at_least(0).less_than(1),
                         real_param("eps", 1e-8, "added to the denominator").greater_than(0),
                         real_param("weight_decay", 0.0, "L2 coefficient added to the gradient (coupled)").at_least(0),
                         real_param("momentum_decay", 4e-3, "psi in mu_t = beta1 (1 - 0.96^(t psi) / 2)").at_least(0)},
                  [](const Hyperparams& h) { return std::make_unique<Nadam>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("nadam", "1.0.0", register_components)
