// double_backprop: a penalty on how fast each example's loss changes with its input (Drucker and
// LeCun, "Improving generalization performance using double backpropagation", IEEE Transactions on
// Neural Networks 1992; Goodfellow, Bengio and Courville, "Deep Learning", section 7.14):
//   lambda mean_i || d loss_i / d x_i ||^2
// over the batch, x the model input `input`. The gradient is a graph of the pullbacks, so the
// penalty's own gradient differentiates them again (second derivatives of every op on the path).
// A penalty of the batch: in data-parallel training each process penalizes its share, and the
// shares' weighted sum is the whole batch's mean, as for the loss.
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class DoubleBackprop final : public Regularizer {
 public:
  explicit DoubleBackprop(const Hyperparams& h) : lambda_(h.real("lambda")), input_(h.string("input")) {}

  Value penalty(const PenaltyContext& ctx) override {
    Value x = ctx.input(input_, "double_backprop");
    if (!ctx.per_example_loss.valid()) throw UsageError("double_backprop needs the model's per-example loss");
    // the examples are independent, so d sum_i loss_i / d x has row i = d loss_i / d x_i
    Value g = gradients(sum(ctx.per_example_loss), {x}).front();
    return lambda_ * sum(square(g)) / count(x, {0});
  }

 private:
  double lambda_;
  std::string input_;
};

void register_components(PluginRegistrar& r) {
  r.add_regularizer("double_backprop", "penalty lambda mean_i ||d loss_i / d x_i||^2 (Drucker and LeCun 1992)",
                    Schema{real_param("lambda", 0.01, "strength").at_least(0),
                           string_param("input", "x", "the model input the loss is differentiated by")},
                    [](const Hyperparams& h) { return std::make_unique<DoubleBackprop>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("double_backprop", "1.0.0", register_components)
