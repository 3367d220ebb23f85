// zeros: every parameter 0 (or `value`). For weights this is the classic failure: every unit of a
// layer computes the same function and receives the same gradient, so symmetry is never broken.
#include <symgrad/plugin/fill.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

void register_components(PluginRegistrar& r) {
  r.add_initializer("zeros", "a constant (0 by default): fine for biases, symmetric for weights",
                    Schema{real_param("value", 0.0, "the constant")}, [](const Hyperparams& h) {
                      const double v = h.real("value");
                      return std::make_unique<DrawInitializer>([v](const InitRequest&, Random&) { return v; });
                    });
}

}  // namespace

SYMGRAD_PLUGIN("zeros", "1.0.0", register_components)
