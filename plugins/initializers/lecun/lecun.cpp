// lecun: N(0, gain^2 / fan_in) with gain 1 (LeCun, Bottou, Orr and Mueller, "Efficient BackProp",
// 1998; Keras's lecun_normal, which truncates at two standard deviations where this does not): unit
// variance for tanh or SELU units. lecun_uniform: U(-a, a), a = gain sqrt(3 / fan_in), the same variance.
#include <cmath>

#include <symgrad/plugin/fill.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

void register_components(PluginRegistrar& r) {
  r.add_initializer("lecun", "N(0, 1 / fan_in): LeCun normal", Schema{real_param("gain", 1.0, "std = gain / sqrt(fan_in)").greater_than(0)},
                    [](const Hyperparams& h) {
                      const double gain = h.real("gain");
                      return std::make_unique<DrawInitializer>([=](const InitRequest& q, Random& rng) {
                        return gain / std::sqrt(static_cast<double>(q.fan_in)) * rng.normal();
                      });
                    });
  r.add_initializer("lecun_uniform", "U(-a, a), a = sqrt(3 / fan_in): LeCun uniform",
                    Schema{real_param("gain", 1.0, "a = gain sqrt(3 / fan_in)").greater_than(0)}, [](const Hyperparams& h) {
                      const double gain = h.real("gain");
                      return std::make_unique<DrawInitializer>([=](const InitRequest& q, Random& rng) {
                        const double a = gain * std::sqrt(3.0 / static_cast<double>(q.fan_in));
                        return rng.uniform(-a, a);
                      });
                    });
}

}  // namespace

SYMGRAD_PLUGIN("lecun", "1.0.0", register_components)
