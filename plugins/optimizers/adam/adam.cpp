// adam: Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, with AMSGrad
// (Reddi, Kale and Kumar, ICLR 2018) and coupled weight decay, as torch.optim.Adam. See README.md.
#include "adam_rule.hpp"

namespace {

using namespace symgrad;

class Adam final : public UpdateRule {
 public:
  explicit Adam(const Hyperparams& h)
      : wd_(h.real("weight_decay")), s_(plugins::adam_settings(h)) {}
  Value update(OptimizerContext& ctx, const ParamGrad& p) override {
    Value g = wd_ != 0 ? p.grad + wd_ * p.param : p.grad;  // coupled: g = g + wd p
    return plugins::adam_rule(ctx, p, p.param, g, s_);
  }

 private:
  double wd_;
  plugins::AdamSettings s_;
};

void register_components(PluginRegistrar& r) {
  r.add_optimizer("adam", "adaptive moment estimation (torch.optim.Adam)",
                  plugins::adam_schema(0.0, "L2 coefficient added to the gradient (coupled)"),
                  [](const Hyperparams& h) { return std::make_unique<Adam>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("adam", "1.0.0", register_components)
