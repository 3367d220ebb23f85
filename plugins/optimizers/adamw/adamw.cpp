// adamw: Adam with decoupled weight decay (Loshchilov and Hutter, "Decoupled Weight Decay
// Regularization", ICLR 2019), as torch.optim.AdamW:  p = p (1 - lr wd), then the Adam step on g.
// The Adam step is the adam plugin's, made through the registry (as any plugin may use another's
// component): its slots are named under "adamw", as torch keeps them in AdamW's state.
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class AdamW final : public UpdateRule {
 public:
  explicit AdamW(const Hyperparams& h)
      : wd_(h.real("weight_decay")),
        adam_(PluginRegistry::global().make_update_rule(
            "adam", Settings{{"beta1", h.real("beta1")}, {"beta2", h.real("beta2")}, {"eps", h.real("eps")},
                             {"amsgrad", h.boolean("amsgrad")}})) {}
  Value update(OptimizerContext& ctx, const ParamGrad& p) override {
    Value decayed = wd_ != 0 ? p.param * (1.0 - ctx.lr() * wd_) : p.param;  // p = p (1 - lr wd)
    return adam_->update(ctx, ParamGrad{p.name, decayed, p.grad});          // the Adam step from there
  }

 private:
  double wd_;
  std::unique_ptr<UpdateRule> adam_;
};

void register_components(PluginRegistrar& r) {
  r.add_optimizer(
      "adamw", "Adam with decoupled weight decay (torch.optim.AdamW)",
      Schema{real_param("lr", 1e-3, "learning rate").greater_than(0),
             real_param("beta1", 0.9, "decay of the first-moment average").at_least(0).less_than(1),
             real_param("beta2", 0.999, "decay of the second-moment average").at_least(0).less_than(1),
             real_param("eps", 1e-8, "added to the denominator").greater_than(0),
             real_param("weight_decay", 1e-2, "decoupled decay: p = p (1 - lr wd) before the Adam step").at_least(0),
             bool_param("amsgrad", false, "use the maximum of the second moments so far (AMSGrad)")},
      [](const Hyperparams& h) { return std::make_unique<AdamW>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("adamw", "1.0.0", register_components)
