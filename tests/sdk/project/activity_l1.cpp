// activity_l1: a penalty on hidden activations, lambda mean_batch sum_units |h|, for sparse
// representations (Goodfellow, Bengio and Courville, "Deep Learning", section 7.10; Keras's
// activity_regularizer). It reads layer outputs, not parameters: the layer hook sees each output
// as the training graph is built and adds a term to the loss.
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class ActivityL1 final : public Regularizer {
 public:
  explicit ActivityL1(const Hyperparams& h) : lambda_(h.real("lambda")), layers_(h.string("layers")) {}

  Value on_layer_output(ModelContext& ctx, const LayerOutput& out) override {
    const bool hidden = out.stage == LayerOutput::Stage::output && !out.last && out.kind == "dense";
    if (ctx.training() && hidden && name_matches(layers_, out.layer)) {
      // lambda / N sum |h|, N the batch size at run time
      ctx.add_penalty(lambda_ * sum(abs(out.value)) / count(out.value, {0}));
    }
    return out.value;  // the activations themselves are unchanged
  }

 private:
  double lambda_;
  std::string layers_;
};

void register_components(PluginRegistrar& r) {
  r.add_regularizer("activity_l1", "L1 penalty on hidden activations (sparse representations)",
                    Schema{real_param("lambda", 1e-3, "strength").at_least(0),
                           string_param("layers", "*", "layers whose outputs are penalized (a glob)")},
                    [](const Hyperparams& h) { return std::make_unique<ActivityL1>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("activity_l1", "1.0.0", register_components)
