// uniform: U(low, high) for every parameter (torch.nn.init.uniform_).
#include <symgrad/plugin/fill.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

void register_components(PluginRegistrar& r) {
  r.add_initializer("uniform", "uniform values in [low, high) (torch.nn.init.uniform_)",
                    Schema{real_param("low", -0.05, "lower bound"), real_param("high", 0.05, "upper bound")},
                    [](const Hyperparams& h) {
                      const double lo = h.real("low"), hi = h.real("high");
                      if (!(lo < hi)) throw UsageError("low must be below high");
                      return std::make_unique<DrawInitializer>(
                          [=](const InitRequest&, Random& rng) { return rng.uniform(lo, hi); });
                    });
}

}  // namespace

SYMGRAD_PLUGIN("uniform", "1.0.0", register_components)
