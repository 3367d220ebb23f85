// softmax_cross_entropy: one class of C per example, from logits z [N, C] and classes y i32[N]:
//   loss_i = -log softmax(z_i)_{y_i} = logsumexp(z_i) - z_{i, y_i}
// (torch.nn.CrossEntropyLoss). One op, written stably: the log-sum-exp subtracts the row's
// maximum, so no exponential overflows whatever the logits.
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class SoftmaxCrossEntropy final : public Loss {
 public:
  Task task() const override { return Task::classification; }
  Value per_example(Value z, Value y) const override {
    if (z.shape().rank() != 2) {
      throw ShapeError("softmax_cross_entropy needs an output [N, classes], got " + z.type().to_string());
    }
    return softmax_cross_entropy(z, y);
  }
};

void register_components(PluginRegistrar& r) {
  r.add_loss("softmax_cross_entropy", "one class of C from logits (torch CrossEntropyLoss): classification", Schema{},
             [](const Hyperparams&) { return std::make_unique<SoftmaxCrossEntropy>(); });
}

}  // namespace

SYMGRAD_PLUGIN("softmax_cross_entropy", "1.0.0", register_components)
