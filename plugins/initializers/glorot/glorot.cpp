// glorot / xavier_uniform: U(-a, a) with a = gain sqrt(6 / (fan_in + fan_out)); xavier_normal:
// N(0, gain^2 2 / (fan_in + fan_out)) (Glorot and Bengio, "Understanding the difficulty of training
// deep feedforward neural networks", AISTATS 2010; torch.nn.init.xavier_uniform_ / xavier_normal_).
#include <cmath>

#include <symgrad/plugin/fill.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

std::unique_ptr<Initializer> uniform(const Hyperparams& h) {
  const double gain = h.real("gain");
  return std::make_unique<DrawInitializer>([=](const InitRequest& q, Random& rng) {
    const double a = gain * std::sqrt(6.0 / static_cast<double>(q.fan_in + q.fan_out));
    return rng.uniform(-a, a);
  });
}

void register_components(PluginRegistrar& r) {
  const Schema schema{real_param("gain", 1.0, "scale").greater_than(0)};
  r.add_initializer("glorot", "U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)): Glorot (Xavier) uniform", schema, uniform);
  r.add_initializer("xavier_uniform", "glorot under torch's name", schema, uniform);
  r.add_initializer("xavier_normal", "N(0, 2 / (fan_in + fan_out)): Glorot (Xavier) normal", schema, [](const Hyperparams& h) {
    const double gain = h.real("gain");
    return std::make_unique<DrawInitializer>([=](const InitRequest& q, Random& rng) {
      return gain * std::sqrt(2.0 / static_cast<double>(q.fan_in + q.fan_out)) * rng.normal();
    });
  });
}

}  // namespace

SYMGRAD_PLUGIN("glorot", "1.0.0", register_components)
