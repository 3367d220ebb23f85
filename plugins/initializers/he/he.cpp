// he / he_normal: N(0, gain^2 / fan) with gain sqrt(2) for ReLU layers; he_uniform: U(-a, a) with
// a = gain sqrt(3 / fan), the same variance (He, Zhang, Ren and Sun, "Delving Deep into Rectifiers",
// ICCV 2015; torch.nn.init.kaiming_normal_ / kaiming_uniform_). fan is fan_in (mode "fan_in",
// the default: the forward pass keeps the variance of ReLU activations) or fan_out ("fan_out": the
// backward pass keeps the gradients' variance).
#include <cmath>

#include <symgrad/plugin/fill.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

double fan(const InitRequest& q, bool out) { return static_cast<double>(out ? q.fan_out : q.fan_in); }

Schema schema() {
  return Schema{real_param("gain", std::sqrt(2.0), "std = gain / sqrt(fan)").greater_than(0),
                choice_param("mode", "fan_in", {"fan_in", "fan_out"}, "the fan the variance is divided by")};
}

std::unique_ptr<Initializer> normal(const Hyperparams& h) {
  const double gain = h.real("gain");
  const bool out = h.string("mode") == "fan_out";
  return std::make_unique<DrawInitializer>(
      [=](const InitRequest& q, Random& rng) { return gain / std::sqrt(fan(q, out)) * rng.normal(); });
}

void register_components(PluginRegistrar& r) {
  r.add_initializer("he", "N(0, 2 / fan_in): He (Kaiming) normal for ReLU layers", schema(), normal);
  r.add_initializer("he_normal", "he under Keras's name", schema(), normal);
  r.add_initializer("he_uniform", "U(-a, a), a = sqrt(6 / fan_in): He (Kaiming) uniform", schema(), [](const Hyperparams& h) {
    const double gain = h.real("gain");
    const bool out = h.string("mode") == "fan_out";
    return std::make_unique<DrawInitializer>([=](const InitRequest& q, Random& rng) {
      const double a = gain * std::sqrt(3.0 / fan(q, out));
      return rng.uniform(-a, a);
    });
  });
}

}  // namespace

SYMGRAD_PLUGIN("he", "1.0.0", register_components)
