// normal: N(mean, std^2) for every parameter (torch.nn.init.normal_). With a large std (the
// course's "large random" initialization, std 10) activations saturate and training stalls.
#include <symgrad/plugin/fill.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

void register_components(PluginRegistrar& r) {
  r.add_initializer("normal", "Gaussian values N(mean, std^2) (torch.nn.init.normal_)",
                    Schema{real_param("mean", 0.0, "mean"), real_param("std", 0.01, "standard deviation").at_least(0)},
                    [](const Hyperparams& h) {
                      const double mean = h.real("mean"), std = h.real("std");
                      return std::make_unique<DrawInitializer>(
                          [=](const InitRequest&, Random& rng) { return mean + std * rng.normal(); });
                    });
}

}  // namespace

SYMGRAD_PLUGIN("normal", "1.0.0", register_components)
