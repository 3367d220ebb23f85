// dropout: inverted dropout inserted after the chosen hidden layers of a model that has none
// (Srivastava, Hinton, Krizhevsky, Sutskever and Salakhutdinov, JMLR 2014; Goodfellow, Bengio and
// Courville, "Deep Learning", section 7.12): in training each unit is kept with probability 1 - p
// and scaled by 1 / (1 - p), so inference (the identity) needs no weight scaling. The same code as
// the model's dropout layer (plugin/layers.hpp); masks "dropout/<layer>/mask" drawn every step from
// the seed and the step.
#include <symgrad/plugin/hidden_units.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

constexpr double kDefaultP = 0.5;

class Dropout final : public Regularizer {
 public:
  explicit Dropout(const Hyperparams& h) : p_(h.real("p")), layers_(h.string("layers")), input_(h.real("input_p")) {
    if (const double keep = h.real("keep_prob"); keep > 0) {  // the course's name: p = 1 - keep_prob
      if (p_ != kDefaultP) throw UsageError("keep_prob (the course's) and p (torch's) say the same: give one");
      p_ = 1 - keep;
    }
  }

  Value on_layer_output(ModelContext& ctx, const LayerOutput& out) override {
    if (out.kind == "input" && input_ > 0) return dropout_layer(ctx, out.value, "dropout/input", input_);
    if (!hidden_output(out, layers_)) return out.value;
    return dropout_layer(ctx, out.value, "dropout/" + out.layer, p_);
  }

 private:
  double p_;
  std::string layers_;
  double input_;
};

void register_components(PluginRegistrar& r) {
  r.add_regularizer("dropout", "inverted dropout after the chosen hidden layers (the identity at inference)",
                    Schema{real_param("p", kDefaultP, "probability of dropping a hidden unit").at_least(0).less_than(1),
                           real_param("keep_prob", 0.0, "the course's name: p = 1 - keep_prob (0: p says)").at_least(0).at_most(1),
                           string_param("layers", "*", "hidden layers followed by dropout (a glob over names)"),
                           real_param("input_p", 0.0, "probability of dropping an input (0: none)").at_least(0).less_than(1)},
                    [](const Hyperparams& h) { return std::make_unique<Dropout>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("dropout", "1.0.0", register_components)
