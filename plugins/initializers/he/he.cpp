// he: N(0, gain^2 / fan_in) with gain sqrt(2) for ReLU layers (He, Zhang, Ren and Sun, "Delving Deep
// into Rectifiers", ICCV 2015; torch.nn.init.kaiming_normal_ with mode='fan_in'): keeps the
// variance of ReLU activations from layer to layer.
#include <cmath>

#include "../fill.hpp"

namespace {

using namespace symgrad;

void register_components(PluginRegistrar& r) {
  r.add_initializer("he", "N(0, 2 / fan_in): He (Kaiming) normal for ReLU layers",
                    Schema{real_param("gain", std::sqrt(2.0), "std = gain / sqrt(fan_in)").greater_than(0)},
                    [](const Hyperparams& h) {
                      const double gain = h.real("gain");
                      return std::make_unique<plugins::DrawInitializer>([=](const InitRequest& q, Random& rng) {
                        return gain / std::sqrt(static_cast<double>(q.fan_in)) * rng.normal();
                      });
                    });
}

}  // namespace

SYMGRAD_PLUGIN("he", "1.0.0", register_components)
