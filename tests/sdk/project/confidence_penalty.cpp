// confidence_penalty: a penalty on confident output distributions (Pereyra, Tucker, Chorowski,
// Kaiser and Hinton, "Regularizing Neural Networks by Penalizing Confident Output Distributions",
// 2017): the objective is the loss minus beta times the mean entropy of the softmax of an output,
//   penalty = -beta mean_i H(p_i),   H(p) = -sum_j p_j log p_j,   p_i = softmax(z_i)
// It reads a model output by name from the PenaltyContext (the batch's values, as the loss does).
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class ConfidencePenalty final : public Regularizer {
 public:
  explicit ConfidencePenalty(const Hyperparams& h) : beta_(h.real("beta")), output_(h.string("output")) {}

  Value penalty(const PenaltyContext& ctx) override {
    const auto z = ctx.outputs.find(output_);
    if (z == ctx.outputs.end()) throw UsageError("confidence_penalty: the model has no output '" + output_ + "'");
    Value log_p = log_softmax(z->second);                   // stable: no log of a 0
    Value entropy = -sum(exp(log_p) * log_p, {1});          // H(p_i), [N]
    return -beta_ * mean(entropy);                          // low entropy costs
  }

 private:
  double beta_;
  std::string output_;
};

void register_components(PluginRegistrar& r) {
  r.add_regularizer("confidence_penalty", "-beta mean entropy of the output's softmax (Pereyra et al. 2017)",
                    Schema{real_param("beta", 0.1, "strength").at_least(0),
                           string_param("output", "logits", "the model output whose softmax is penalized")},
                    [](const Hyperparams& h) { return std::make_unique<ConfidencePenalty>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("confidence_penalty", "1.0.0", register_components)
