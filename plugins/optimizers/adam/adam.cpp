// adam: Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015, with AMSGrad
// (Reddi, Kale and Kumar, ICLR 2018) and coupled weight decay, as torch.optim.Adam. See README.md.
//   m_t = b1 m_{t-1} + (1 - b1) g;   v_t = b2 v_{t-1} + (1 - b2) g^2
//   v'_t = max(v'_{t-1}, v_t) with amsgrad, else v_t
//   p_t = p - lr / (1 - b1^t) * m_t / (sqrt(v'_t) / sqrt(1 - b2^t) + eps)
// (the division by sqrt(1 - b2^t) done as a product with its reciprocal, a scalar per step).
// The adamw plugin makes this rule through the registry and starts it from the decayed parameter.
#include <cmath>

#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

struct AdamSettings {
  double beta1, beta2, eps;
  bool amsgrad;
};

AdamSettings adam_settings(const Hyperparams& h) {
  return {h.real("beta1"), h.real("beta2"), h.real("eps"), h.boolean("amsgrad")};
}

// The Adam step of `param` from the value `p` with the gradient `g`.
Value adam_rule(OptimizerContext& ctx, const ParamGrad& param, Value p, Value g, const AdamSettings& s) {
  Value m = s.beta1 * ctx.slot(param, "exp_avg") + (1 - s.beta1) * g;
  Value v = s.beta2 * ctx.slot(param, "exp_avg_sq") + (1 - s.beta2) * square(g);
  ctx.set_slot(param, "exp_avg", m);
  ctx.set_slot(param, "exp_avg_sq", v);
  if (s.amsgrad) {
    Value prev = ctx.slot(param, "max_exp_avg_sq");
    v = where(greater(v, prev), v, prev);
    ctx.set_slot(param, "max_exp_avg_sq", v);
  }
  // b^t = exp(t log b): t is a graph value (the step count), so the plan is built once. The
  // scalars (lr / (1 - b1^t), 1 / sqrt(1 - b2^t)) are computed once per step; per element this is
  // sqrt(v) * (1 / sqrt(1 - b2^t)) + eps, within an ulp of torch's sqrt(v) / sqrt(1 - b2^t) + eps.
  Value t = ctx.step();
  Value bias1 = 1.0 - exp(t * std::log(s.beta1)), bias2 = 1.0 - exp(t * std::log(s.beta2));
  Value denom = sqrt(v) * (1.0 / sqrt(bias2)) + s.eps;
  return p - (ctx.lr() / bias1) * m / denom;
}

Schema adam_schema(double weight_decay, const char* weight_decay_doc) {
  return Schema{real_param("lr", 1e-3, "learning rate").greater_than(0),
                real_param("beta1", 0.9, "decay of the first-moment average").at_least(0).less_than(1),
                real_param("beta2", 0.999, "decay of the second-moment average").at_least(0).less_than(1),
                real_param("eps", 1e-8, "added to the denominator").greater_than(0),
                real_param("weight_decay", weight_decay, weight_decay_doc).at_least(0),
                bool_param("amsgrad", false, "use the maximum of the second moments so far (AMSGrad)")};
}

class Adam final : public UpdateRule {
 public:
  explicit Adam(const Hyperparams& h)
      : wd_(h.real("weight_decay")), s_(adam_settings(h)) {}
  Value update(OptimizerContext& ctx, const ParamGrad& p) override {
    Value g = wd_ != 0 ? p.grad + wd_ * p.param : p.grad;  // coupled: g = g + wd p
    return adam_rule(ctx, p, p.param, g, s_);
  }

 private:
  double wd_;
  AdamSettings s_;
};

void register_components(PluginRegistrar& r) {
  r.add_optimizer("adam", "adaptive moment estimation (torch.optim.Adam)",
                  adam_schema(0.0, "L2 coefficient added to the gradient (coupled)"),
                  [](const Hyperparams& h) { return std::make_unique<Adam>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("adam", "1.0.0", register_components)
