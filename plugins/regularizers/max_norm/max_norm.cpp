// max_norm: each unit's incoming weight vector re-projected onto the L2 ball of radius c after every
// step (Srebro and Shraibman, COLT 2005; Hinton et al., "Improving neural networks by preventing
// co-adaptation of feature detectors", 2012; Keras's MaxNorm(c, axis=0)). See ../projection.hpp.
#include <symgrad/plugin/projection.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

void register_components(PluginRegistrar& r) {
  r.add_regularizer("max_norm", "after each step, every unit's incoming weights have L2 norm <= c",
                    projection_schema(3.0, true),
                    [](const Hyperparams& h) { return std::make_unique<Projection>(h, false); });
}

}  // namespace

SYMGRAD_PLUGIN("max_norm", "1.0.0", register_components)
