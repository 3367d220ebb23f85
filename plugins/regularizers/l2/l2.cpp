// l2: the penalty lambda / 2 sum ||W||^2 over the parameters whose names match `pattern` (the
// weights by default, not the biases), added to the loss (Goodfellow, Bengio and Courville, "Deep
// Learning", section 7.1.1). The course writes lambda / (2 m) with m the batch size: its lambda
// divided by m is this lambda. With SGD this is the same as weight_decay = lambda.
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class L2 final : public Regularizer {
 public:
  explicit L2(const Hyperparams& h) : lambda_(h.real("lambda")), pattern_(h.string("pattern")) {}

  Value penalty(Graph&, const std::vector<NamedParam>& params) override {
    Value total;
    for (const auto& p : params) {
      if (!name_matches(pattern_, p.name)) continue;
      Value s = sum(square(p.value));
      total = total.valid() ? total + s : s;
    }
    return total.valid() ? 0.5 * lambda_ * total : total;  // lambda / 2 sum ||W||^2
  }

 private:
  double lambda_;
  std::string pattern_;
};

void register_components(PluginRegistrar& r) {
  r.add_regularizer("l2", "penalty lambda / 2 sum ||W||^2 on the weights (L2, ridge)",
                    Schema{real_param("lambda", 1e-4, "strength").at_least(0),
                           string_param("pattern", "*/W", "parameters penalized (a glob over names)")},
                    [](const Hyperparams& h) { return std::make_unique<L2>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("l2", "1.0.0", register_components)
