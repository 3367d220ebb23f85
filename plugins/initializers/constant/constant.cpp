// constant: every value `value` (torch.nn.init.constant_). Like zeros, a constant weight matrix
// starts every unit of a layer identical: the trainer warns about it.
#include <symgrad/plugin/fill.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

void register_components(PluginRegistrar& r) {
  r.add_initializer("constant", "every value the same constant (torch.nn.init.constant_)",
                    Schema{real_param("value", 0.1, "the constant")}, [](const Hyperparams& h) {
                      const double v = h.real("value");
                      return std::make_unique<DrawInitializer>([v](const InitRequest&, Random&) { return v; });
                    });
}

}  // namespace

SYMGRAD_PLUGIN("constant", "1.0.0", register_components)
