// polyak: averaged iterates used for evaluation (Polyak and Juditsky, "Acceleration of Stochastic
// Approximation by Averaging", SIAM J. Control Optim. 1992; Goodfellow, Bengio and Courville, "Deep
// Learning", section 8.7.3). With theta_t the parameters after step t and n = t - start + 1 (the
// iterates averaged so far):
//   uniform:  a_t = a_{t-1} + (theta_t - a_{t-1}) / max(n, 1)       (a_t = theta_t before `start`)
//   ema:      m_t = decay m_{t-1} + (1 - decay) theta_t,  m = 0 before `start`
//             a_t = m_t / (1 - decay^n) with bias_correction, else a_t = m_t   (a_t = theta_t before `start`)
// The averages are state of the compiled step ("polyak/average/<param>"); evaluation, validation,
// test, variables.bin and `symgrad eval` read them; training goes on from the raw iterates. With
// recompute_batch_norm the running statistics are recomputed for the averages before each
// validation (torch.optim.swa_utils.update_bn; one pass with the layers' momentum, see README).
#include <cmath>
#include <memory>

#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Polyak final : public Strategy {
 public:
  explicit Polyak(const Hyperparams& h)
      : ema_(h.string("mode") == "ema"), start_(static_cast<double>(h.integer("start"))), decay_(h.real("decay")),
        bias_correction_(h.boolean("bias_correction")), pattern_(h.string("pattern")),
        recompute_(h.boolean("recompute_batch_norm")) {}

  // before each validation: batch-norm statistics of the averaged weights, not of the iterates
  void on_epoch_trained(TrainEvent& e) override {
    if (recompute_ && e.recompute_state) e.recompute_state();
  }

  void extend_step(StepContext& ctx) override {
    // scalars, once per step: n = max(t - start + 1, 0)
    Value n = relu(ctx.step() - (start_ - 1.0));
    Value rate = 1.0 / (relu(n - 1.0) + 1.0);  // 1 / max(n, 1)
    Value active = greater(n, ctx.graph().scalar(0.0, ctx.dtype()));
    Value correction;  // 1 / (1 - decay^max(n, 1))
    if (ema_) correction = 1.0 / (1.0 - exp((relu(n - 1.0) + 1.0) * std::log(decay_)));
    for (const auto& p : ctx.params()) {
      if (!name_matches(pattern_, p.name)) continue;
      Value theta = ctx.updated(p.name);
      Value avg = ctx.state("average/" + p.name, zeros_of(p.value));
      Value next;
      if (ema_) {
        Value m = ctx.state("ema/" + p.name, zeros_of(p.value));
        Value m_next = active * (decay_ * m + (1.0 - decay_) * theta);
        ctx.set_state("ema/" + p.name, m_next);
        next = where(active, bias_correction_ ? m_next * correction : m_next, theta);
      } else {
        next = avg + (theta - avg) * rate;
      }
      ctx.set_state("average/" + p.name, next);
      ctx.evaluate_with(p.name, "average/" + p.name);
    }
  }

 private:
  static Tensor zeros_of(Value v) {
    Tensor t(v.type());
    t.fill(0.0);
    return t;
  }
  bool ema_;
  double start_, decay_;
  bool bias_correction_;
  std::string pattern_;
  bool recompute_;
};

void register_components(PluginRegistrar& r) {
  r.add_strategy(
      "polyak", "average the iterates (uniform or exponential) and evaluate with the average",
      Schema{choice_param("mode", "uniform", {"uniform", "ema"}, "uniform average (Polyak-Ruppert) or exponential moving average"),
             int_param("start", 1, "first step whose iterate is averaged (before it the average is the iterate)").at_least(1),
             real_param("decay", 0.999, "ema: weight of the previous average").at_least(0).less_than(1),
             bool_param("bias_correction", true, "ema: divide by 1 - decay^n (the average does not start at 0)"),
             string_param("pattern", "*", "parameters averaged (a glob over names)"),
             bool_param("recompute_batch_norm", false,
                        "before each validation, recompute batch-norm statistics for the averages (one pass)")},
      [](const Hyperparams& h) { return std::make_unique<Polyak>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("polyak", "1.0.0", register_components)
