// l2: a penalty on the squared norm of the parameters whose names match `pattern` (the weights by
// default, not the biases), added to the loss (Goodfellow, Bengio and Courville, "Deep Learning",
// section 7.1.1), in one of three conventions:
//   torch:  lambda / 2 sum ||W||^2      (gradient lambda W: SGD's weight_decay = lambda)
//   keras:  lambda sum ||W||^2          (keras.regularizers.l2(lambda))
//   course: lambda / (2 m) sum ||W||^2  (the "Improving Deep Neural Networks" course; m the batch's
//                                        size, counted at run time)
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class L2 final : public Regularizer {
 public:
  explicit L2(const Hyperparams& h)
      : lambda_(h.real("lambda")), pattern_(h.string("pattern")), convention_(h.string("convention")) {}

  Value penalty(const PenaltyContext& ctx) override {
    Value total;
    for (const auto& p : ctx.params) {
      if (!name_matches(pattern_, p.name)) continue;
      Value s = sum(square(p.value));
      total = total.valid() ? total + s : s;
    }
    if (!total.valid()) return total;
    if (convention_ == "keras") return lambda_ * total;  // lambda sum ||W||^2
    if (convention_ == "course") {                      // lambda / (2 m) sum ||W||^2
      if (ctx.inputs.empty()) throw UsageError("l2 with convention \"course\" needs the batch: there is no model input");
      return 0.5 * lambda_ * total / count(ctx.inputs.begin()->second, {0});  // m: the batch's size
    }
    return 0.5 * lambda_ * total;  // lambda / 2 sum ||W||^2
  }

 private:
  double lambda_;
  std::string pattern_, convention_;
};

void register_components(PluginRegistrar& r) {
  r.add_regularizer("l2", "penalty lambda / 2 sum ||W||^2 on the weights (L2, ridge)",
                    Schema{real_param("lambda", 1e-4, "strength").at_least(0),
                           string_param("pattern", "*/W", "parameters penalized (a glob over names)"),
                           choice_param("convention", "torch", {"torch", "keras", "course"},
                                        "lambda / 2 sum W^2 (torch's weight_decay), lambda sum W^2 (Keras), "
                                        "lambda / (2 m) sum W^2 (the course, m the batch size)")},
                    [](const Hyperparams& h) { return std::make_unique<L2>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("l2", "1.0.0", register_components)
