// rmsprop: Hinton, Srivastava and Swersky, "Neural Networks for Machine Learning", lecture 6e
// (2012); centered form from Graves, "Generating Sequences With Recurrent Neural Networks" (2013);
// as torch.optim.RMSprop. See README.md.
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class RmsProp final : public UpdateRule {
 public:
  explicit RmsProp(const Hyperparams& h)
      : alpha_(h.real("alpha")), eps_(h.real("eps")), wd_(h.real("weight_decay")),
        momentum_(h.real("momentum")), centered_(h.boolean("centered")) {}

  Value update(OptimizerContext& ctx, const ParamGrad& p) override {
    Value g = wd_ != 0 ? p.grad + wd_ * p.param : p.grad;                     // g = g + wd p
    Value sq = alpha_ * ctx.slot(p, "square_avg") + (1 - alpha_) * square(g);  // s = a s + (1 - a) g^2
    ctx.set_slot(p, "square_avg", sq);
    Value var = sq;
    if (centered_) {                                                          // s - gbar^2
      Value avg = alpha_ * ctx.slot(p, "grad_avg") + (1 - alpha_) * g;        // gbar = a gbar + (1 - a) g
      ctx.set_slot(p, "grad_avg", avg);
      var = sq - square(avg);
    }
    Value step = g / (sqrt(var) + eps_);
    if (momentum_ > 0) {                                                      // b = mu b + g / (sqrt(.) + eps)
      step = momentum_ * ctx.slot(p, "momentum_buffer") + step;
      ctx.set_slot(p, "momentum_buffer", step);
    }
    return p.param - ctx.lr() * step;
  }

 private:
  double alpha_, eps_, wd_, momentum_;
  bool centered_;
};

void register_components(PluginRegistrar& r) {
  r.add_optimizer("rmsprop", "steps scaled by a running RMS of the gradients (torch.optim.RMSprop)",
                  Schema{real_param("lr", 1e-2, "learning rate").greater_than(0),
                         real_param("alpha", 0.99, "decay of the squared-gradient average").at_least(0).less_than(1),
                         real_param("eps", 1e-8, "added to the denominator").greater_than(0),
                         real_param("weight_decay", 0.0, "L2 coefficient added to the gradient").at_least(0),
                         real_param("momentum", 0.0, "momentum factor").at_least(0),
                         bool_param("centered", false, "divide by the variance estimate instead of the raw second moment")},
                  [](const Hyperparams& h) { return std::make_unique<RmsProp>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("rmsprop", "1.0.0", register_components)
