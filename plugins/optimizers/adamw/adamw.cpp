// adamw: Adam with decoupled weight decay (Loshchilov and Hutter, "Decoupled Weight Decay
// Regularization", ICLR 2019), as torch.optim.AdamW:  p = p (1 - lr wd), then the Adam step on g.
#include "../adam/adam_rule.hpp"

namespace {

using namespace symgrad;

class AdamW final : public UpdateRule {
 public:
  explicit AdamW(const Hyperparams& h)
      : wd_(h.real("weight_decay")), s_(plugins::adam_settings(h)) {}
  Value update(OptimizerContext& ctx, const ParamGrad& p) override {
    Value decayed = wd_ != 0 ? p.param * (1.0 - ctx.lr() * wd_) : p.param;  // p = p (1 - lr wd)
    return plugins::adam_rule(ctx, p, decayed, p.grad, s_);
  }

 private:
  double wd_;
  plugins::AdamSettings s_;
};

void register_components(PluginRegistrar& r) {
  r.add_optimizer("adamw", "Adam with decoupled weight decay (torch.optim.AdamW)",
                  plugins::adam_schema(1e-2, "decoupled decay: p = p (1 - lr wd) before the Adam step"),
                  [](const Hyperparams& h) { return std::make_unique<AdamW>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("adamw", "1.0.0", register_components)
