// noise: Gaussian noise in training (Goodfellow, Bengio and Courville, "Deep Learning", sections
// 7.4 and 7.5; Bishop 1995 for input noise; Graves 2011 for weight noise), drawn every step from
// the seed, the step and the place (reproducible, and the same after a resume); none at inference.
//   target = "input":   x <- x + std z                         (additive)  or x (1 + std z) (multiplicative)
//   target = "hidden":  h <- h + std z  or  h (1 + std z)      after the chosen hidden layers
//   target = "weights": the forward pass of a step uses W + std z (or W (1 + std z)); the gradient
//                       is taken at the perturbed weights and applied to W itself
#include <symgrad/plugin/hidden_units.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Noise final : public Regularizer {
 public:
  explicit Noise(const Hyperparams& h)
      : target_(h.string("target")), std_(h.real("std")), multiplicative_(h.string("kind") == "multiplicative"),
        layers_(h.string("layers")), pattern_(h.string("pattern")) {}

  Value on_layer_output(ModelContext& ctx, const LayerOutput& out) override {
    if (!ctx.training() || std_ == 0) return out.value;
    if (target_ == "input" && out.kind == "input") return perturb(ctx, out.value, "noise/input");
    if (target_ == "hidden" && hidden_output(out, layers_)) return perturb(ctx, out.value, "noise/" + out.layer);
    return out.value;
  }

  Value on_parameter(ModelContext& ctx, const std::string& name, Value w) override {
    if (!ctx.training() || std_ == 0 || target_ != "weights" || !name_matches(pattern_, name)) return w;
    return perturb(ctx, w, "noise/" + name);
  }

 private:
  Value perturb(ModelContext& ctx, Value v, const std::string& name) {
    Value z = ctx.random(name, v.type(), RandomInput::Kind::normal, std_);  // std z, z ~ N(0, 1)
    return multiplicative_ ? v * (1.0 + z) : v + z;
  }
  std::string target_;
  double std_;
  bool multiplicative_;
  std::string layers_, pattern_;
};

void register_components(PluginRegistrar& r) {
  r.add_regularizer("noise", "Gaussian noise on the inputs, hidden units or weights in training",
                    Schema{choice_param("target", "input", {"input", "hidden", "weights"}, "where the noise goes"),
                           real_param("std", 0.1, "standard deviation").at_least(0),
                           choice_param("kind", "additive", {"additive", "multiplicative"}, "x + std z, or x (1 + std z)"),
                           string_param("layers", "*", "hidden: the layers whose outputs get noise (a glob)"),
                           string_param("pattern", "*/W", "weights: the parameters perturbed (a glob)")},
                    [](const Hyperparams& h) { return std::make_unique<Noise>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("noise", "1.0.0", register_components)
