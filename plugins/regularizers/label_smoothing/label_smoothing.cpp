// label_smoothing: noise on the targets (Szegedy et al., "Rethinking the Inception Architecture",
// CVPR 2016; Goodfellow, Bengio and Courville, "Deep Learning", section 7.5.1; torch's
// CrossEntropyLoss(label_smoothing=epsilon)). The target is (1 - epsilon) one_hot(y) + epsilon / C,
// so the training loss is
//   (1 - epsilon) CE(z, y) + epsilon mean_j(-log softmax(z)_j)
//   = CE(z, y) + epsilon (mean_j(-log softmax(z)_j) - CE(z, y))
// the second term added as a penalty on the logits (averaged over the batch). Evaluation reports
// the plain cross-entropy.
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class LabelSmoothing final : public Regularizer {
 public:
  explicit LabelSmoothing(const Hyperparams& h) : epsilon_(h.real("epsilon")) {}

  Value on_layer_output(ModelContext& ctx, const LayerOutput& out) override {
    if (!out.last || out.stage != LayerOutput::Stage::output || !ctx.training() || epsilon_ == 0) return out.value;
    Value labels = ctx.graph().find_leaf(NodeKind::input, "y");
    if (!labels.valid()) throw UsageError("label_smoothing needs the labels: a graph input named 'y'");
    Value uniform = -mean(log_softmax(out.value), {1});  // mean_j -log p_j, per example
    ctx.add_penalty(epsilon_ * mean(uniform - softmax_cross_entropy(out.value, labels)));
    return out.value;
  }

 private:
  double epsilon_;
};

void register_components(PluginRegistrar& r) {
  r.add_regularizer("label_smoothing", "targets (1 - epsilon) one_hot + epsilon / C (torch's label_smoothing)",
                    Schema{real_param("epsilon", 0.1, "the weight of the uniform target").at_least(0).at_most(1)},
                    [](const Hyperparams& h) { return std::make_unique<LabelSmoothing>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("label_smoothing", "1.0.0", register_components)
