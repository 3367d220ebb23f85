// l1: lambda sum |W| over the parameters whose names match `pattern` (the weights by default), for
// sparse parameters (Goodfellow, Bengio and Courville, "Deep Learning", section 7.1.2; Keras's
// regularizers.l1 convention: lambda, not lambda / 2).
//   mode = "penalty":  added to the loss; its gradient is lambda sign(W) (0 at 0). A gradient step
//                      oscillates around 0 and seldom lands on it.
//   mode = "proximal": not in the loss; after the optimizer's update, the proximal map of
//                      lr lambda |W|, the soft-threshold (ISTA: Beck and Teboulle, SIAM J. Imaging
//                      Sci. 2009):  W <- sign(W) max(|W| - lr lambda, 0)  -> exact zeros.
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class L1 final : public Regularizer {
 public:
  explicit L1(const Hyperparams& h)
      : lambda_(h.real("lambda")), pattern_(h.string("pattern")), proximal_(h.string("mode") == "proximal") {}

  Value penalty(const PenaltyContext& ctx) override {
    if (proximal_) return {};
    Value total;
    for (const auto& p : ctx.params) {
      if (!name_matches(pattern_, p.name)) continue;
      Value s = sum(abs(p.value));
      total = total.valid() ? total + s : s;
    }
    return total.valid() ? lambda_ * total : total;  // lambda sum |W|
  }

  Value project(const NamedParam& p, Value updated) override {
    if (!proximal_ || !name_matches(pattern_, p.name)) return updated;
    Value threshold = lr_ * lambda_;  // lr lambda, a scalar per step
    return sign(updated) * relu(abs(updated) - threshold);
  }

  void extend_step(StepContext& ctx) override {
    if (proximal_) lr_ = ctx.learning_rate();
    Regularizer::extend_step(ctx);  // project() for every parameter
  }

 private:
  double lambda_;
  std::string pattern_;
  bool proximal_;
  Value lr_;
};

void register_components(PluginRegistrar& r) {
  r.add_regularizer("l1", "lambda sum |W| on the weights: a penalty, or its proximal map after each step (exact zeros)",
                    Schema{real_param("lambda", 1e-4, "strength").at_least(0),
                           string_param("pattern", "*/W", "parameters penalized (a glob over names)"),
                           choice_param("mode", "penalty", {"penalty", "proximal"},
                                        "in the loss (subgradient), or soft-thresholding after the update")},
                    [](const Hyperparams& h) { return std::make_unique<L1>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("l1", "1.0.0", register_components)
