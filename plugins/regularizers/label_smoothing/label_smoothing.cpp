// label_smoothing: noise on the targets (Szegedy et al., "Rethinking the Inception Architecture",
// CVPR 2016; Goodfellow, Bengio and Courville, "Deep Learning", section 7.5.1; torch's
// CrossEntropyLoss(label_smoothing=epsilon)). The target is (1 - epsilon) one_hot(y) + epsilon / C,
// so the training loss is
//   (1 - epsilon) CE(z, y) + epsilon mean_j(-log softmax(z)_j)
//   = CE(z, y) + epsilon (mean_j(-log softmax(z)_j) - CE(z, y))
// the second term added as a penalty on the logits (averaged over the batch). Evaluation reports
// the plain cross-entropy.
#include <algorithm>

#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class LabelSmoothing final : public Regularizer {
 public:
  explicit LabelSmoothing(const Hyperparams& h) : epsilon_(h.real("epsilon")) {}

  Value on_layer_output(ModelContext& ctx, const LayerOutput& out) override {
    if (!out.last || out.stage != LayerOutput::Stage::output || !ctx.training() || epsilon_ == 0) return out.value;
    // one classifier output and its integer classes "y": with several outputs the labels of one
    // would smooth the others (another number of classes, or none), and a regression has no classes
    // (an output seen again is the next build of the model: a Trainer's, or another Trainer's)
    if (std::find(smoothed_.begin(), smoothed_.end(), out.layer) != smoothed_.end()) smoothed_.clear();
    smoothed_.push_back(out.layer);
    if (smoothed_.size() > 1) {
      throw UsageError("label_smoothing smooths the classes of a model of one output; this model has several ('" +
                       smoothed_[0] + "', '" + smoothed_[1] + "'): leave it out, or train one output");
    }
    Value labels = ctx.graph().find_leaf(NodeKind::input, "y");
    if (!labels.valid() || labels.dtype() != DType::i32 || out.value.shape().rank() != 2) {
      throw UsageError("label_smoothing needs a classifier: an output [N, classes] ('" + out.layer + "' is " +
                       out.value.type().to_string() + ") trained against integer classes 'y'" +
                       (labels.valid() ? " ('y' is " + labels.type().to_string() + ")" : " (no input 'y' of integer classes)"));
    }
    Value uniform = -mean(log_softmax(out.value), {1});  // mean_j -log p_j, per example
    ctx.add_penalty(epsilon_ * mean(uniform - softmax_cross_entropy(out.value, labels)));
    return out.value;
  }

 private:
  double epsilon_;
  std::vector<std::string> smoothed_;  // the outputs smoothed in the build of the model under way
};

void register_components(PluginRegistrar& r) {
  r.add_regularizer("label_smoothing", "targets (1 - epsilon) one_hot + epsilon / C (torch's label_smoothing)",
                    Schema{real_param("epsilon", 0.1, "the weight of the uniform target").at_least(0).at_most(1)},
                    [](const Hyperparams& h) { return std::make_unique<LabelSmoothing>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("label_smoothing", "1.0.0", register_components)
