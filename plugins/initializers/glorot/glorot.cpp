// glorot: U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out)) (Glorot and Bengio, "Understanding
// the difficulty of training deep feedforward neural networks", AISTATS 2010;
// torch.nn.init.xavier_uniform_).
#include <cmath>

#include "../fill.hpp"

namespace {

using namespace symgrad;

void register_components(PluginRegistrar& r) {
  r.add_initializer("glorot", "U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)): Glorot (Xavier) uniform",
                    Schema{real_param("gain", 1.0, "scale of the bound").greater_than(0)}, [](const Hyperparams& h) {
                      const double gain = h.real("gain");
                      return std::make_unique<plugins::DrawInitializer>([=](const InitRequest& q, Random& rng) {
                        const double a = gain * std::sqrt(6.0 / static_cast<double>(q.fan_in + q.fan_out));
                        return rng.uniform(-a, a);
                      });
                    });
}

}  // namespace

SYMGRAD_PLUGIN("glorot", "1.0.0", register_components)
