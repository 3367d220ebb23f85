// signum: sign descent with momentum (Bernstein et al., "signSGD: Compressed Optimisation for
// Non-Convex Problems", ICML 2018):  m_t = beta m_{t-1} + (1 - beta) g_t;  p_t = p_{t-1} - lr sign(m_t).
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Signum final : public UpdateRule {
 public:
  explicit Signum(const Hyperparams& h) : beta_(h.real("momentum")) {}

  Value update(OptimizerContext& ctx, const ParamGrad& p) override {
    Value m = beta_ * ctx.slot(p, "momentum") + (1 - beta_) * p.grad;  // m = beta m + (1 - beta) g
    ctx.set_slot(p, "momentum", m);
    return p.param - ctx.lr() * sign(m);                                // p = p - lr sign(m)
  }

 private:
  double beta_;
};

void register_components(PluginRegistrar& r) {
  r.add_optimizer("signum", "sign descent with momentum (Bernstein et al. 2018)",
                  Schema{real_param("lr", 1e-3, "step size").greater_than(0),
                         real_param("momentum", 0.9, "decay of the gradient average").at_least(0).less_than(1)},
                  [](const Hyperparams& h) { return std::make_unique<Signum>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("signum", "1.0.0", register_components)
