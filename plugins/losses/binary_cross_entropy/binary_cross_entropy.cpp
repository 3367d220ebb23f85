// binary_cross_entropy: independent 0/1 labels (multi-label), from logits z and targets y of z's
// shape (torch.nn.BCEWithLogitsLoss):
//   -(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))) = softplus(z) - z y
// softplus is one op, computed as max(z, 0) + log(1 + e^-|z|) (only -|z| <= 0 is exponentiated:
// finite for any z) with the derivative sigmoid(z) everywhere, z = 0 included (a sum of relu and
// |z| pieces would have their kinks' subgradients there: 0 - y instead of 1/2 - y). Per example:
// the mean over the example's labels.
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class BinaryCrossEntropy final : public Loss {
 public:
  Task task() const override { return Task::multilabel; }
  Value per_example(Value z, Value y) const override {
    require_target_like("binary_cross_entropy", z, y);
    return per_example_mean(softplus(z) - z * y);
  }
};

void register_components(PluginRegistrar& r) {
  r.add_loss("binary_cross_entropy", "independent 0/1 labels, from logits (torch BCEWithLogitsLoss): multi-label",
             Schema{}, [](const Hyperparams&) { return std::make_unique<BinaryCrossEntropy>(); });
}

}  // namespace

SYMGRAD_PLUGIN("binary_cross_entropy", "1.0.0", register_components)
