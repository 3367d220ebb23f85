// activation_l1 / activation_l2: penalties on hidden activations, for sparse representations
// (Goodfellow, Bengio and Courville, "Deep Learning", section 7.10; Keras's activity_regularizer
// convention: the sum over a batch's units, here divided by the batch size so that it does not grow
// with it):
//   activation_l1:  lambda / N sum |h|        activation_l2:  lambda / N sum h^2
// over the outputs (after the activation) of the chosen hidden layers.
#include <symgrad/plugin/hidden_units.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class ActivationPenalty final : public Regularizer {
 public:
  ActivationPenalty(const Hyperparams& h, bool l1) : lambda_(h.real("lambda")), layers_(h.string("layers")), l1_(l1) {}

  Value on_layer_output(ModelContext& ctx, const LayerOutput& out) override {
    if (ctx.training() && lambda_ > 0 && hidden_output(out, layers_)) {
      Value size = l1_ ? sum(abs(out.value)) : sum(square(out.value));
      ctx.add_penalty(lambda_ * size / count(out.value, {0}));  // per example: / N at run time
    }
    return out.value;
  }

 private:
  double lambda_;
  std::string layers_;
  bool l1_;
};

Schema schema() {
  return Schema{real_param("lambda", 1e-3, "strength").at_least(0),
                string_param("layers", "*", "hidden layers whose outputs are penalized (a glob over names)")};
}

void register_components(PluginRegistrar& r) {
  r.add_regularizer("activation_l1", "lambda / N sum |h| on hidden activations (sparse representations)", schema(),
                    [](const Hyperparams& h) { return std::make_unique<ActivationPenalty>(h, true); });
  r.add_regularizer("activation_l2", "lambda / N sum h^2 on hidden activations", schema(),
                    [](const Hyperparams& h) { return std::make_unique<ActivationPenalty>(h, false); });
}

}  // namespace

SYMGRAD_PLUGIN("activation_penalty", "1.0.0", register_components)
