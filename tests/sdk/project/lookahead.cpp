// lookahead: k fast steps of the optimizer, then the slow weights move part of the way towards the
// fast ones and the fast weights restart from there (Zhang, Lucas, Hinton and Ba, "Lookahead
// Optimizer: k steps forward, 1 step back", NeurIPS 2019):
//   every k-th step:  phi = phi + alpha (theta - phi);  theta = phi
// Evaluation uses the slow weights phi. State: "lookahead/count", "lookahead/slow/<param>".
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Lookahead final : public Strategy {
 public:
  explicit Lookahead(const Hyperparams& h) : k_(static_cast<double>(h.integer("k"))), alpha_(h.real("alpha")) {}

  void extend_step(StepContext& ctx) override {
    Value count = ctx.state("count", Tensor::scalar(ctx.dtype(), 0));  // fast steps since the last sync
    Value sync = equal(count + 1.0, ctx.graph().scalar(k_, ctx.dtype()));
    ctx.set_state("count", where(sync, zeros_like(count), count + 1.0));
    for (const auto& p : ctx.params()) {
      Value slow = ctx.state_from("slow/" + p.name, p.name);  // phi starts at theta's first value
      Value theta = ctx.updated(p.name);
      Value moved = slow + alpha_ * (theta - slow);
      ctx.set_state("slow/" + p.name, where(sync, moved, slow));
      ctx.set_updated(p.name, where(sync, moved, theta));
      ctx.evaluate_with(p.name, "slow/" + p.name);
    }
  }

 private:
  double k_, alpha_;
};

void register_components(PluginRegistrar& r) {
  r.add_strategy("lookahead", "k fast steps forward, one slow step back (Zhang et al. 2019)",
                 Schema{int_param("k", 5, "fast steps between synchronizations").at_least(1),
                        real_param("alpha", 0.5, "slow step towards the fast weights").greater_than(0).at_most(1)},
                 [](const Hyperparams& h) { return std::make_unique<Lookahead>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("lookahead", "1.0.0", register_components)
