// adagrad: Duchi, Hazan and Singer, "Adaptive Subgradient Methods for Online Learning and
// Stochastic Optimization", JMLR 2011, as torch.optim.Adagrad. See README.md.
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Adagrad final : public UpdateRule {
 public:
  explicit Adagrad(const Hyperparams& h)
      : lr_decay_(h.real("lr_decay")), wd_(h.real("weight_decay")),
        init_(h.real("initial_accumulator_value")), eps_(h.real("eps")) {}

  Value update(OptimizerContext& ctx, const ParamGrad& p) override {
    Value g = wd_ != 0 ? p.grad + wd_ * p.param : p.grad;           // g = g + wd p
    Value clr = ctx.lr() / (1.0 + (ctx.step() - 1.0) * lr_decay_);  // lr / (1 + (t - 1) lr_decay)
    Value sum = ctx.slot(p, "sum", init_) + square(g);              // s = s + g^2
    ctx.set_slot(p, "sum", sum);
    return p.param - clr * g / (sqrt(sum) + eps_);                  // p = p - clr g / (sqrt(s) + eps)
  }

 private:
  double lr_decay_, wd_, init_, eps_;
};

void register_components(PluginRegistrar& r) {
  r.add_optimizer("adagrad", "per-coordinate steps scaled by the accumulated squared gradients (torch.optim.Adagrad)",
                  Schema{real_param("lr", 1e-2, "learning rate").greater_than(0),
                         real_param("lr_decay", 0.0, "lr / (1 + (t - 1) lr_decay)").at_least(0),
                         real_param("weight_decay", 0.0, "L2 coefficient added to the gradient").at_least(0),
                         real_param("initial_accumulator_value", 0.0, "first value of the sum of squares").at_least(0),
                         real_param("eps", 1e-10, "added to the denominator").greater_than(0)},
                  [](const Hyperparams& h) { return std::make_unique<Adagrad>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("adagrad", "1.0.0", register_components)
