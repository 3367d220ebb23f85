// l2_ball: the weights re-projected onto the L2 ball ||W||_2 <= c after every step: the norm
// penalty of section 7.2 of Goodfellow, Bengio and Courville's "Deep Learning" as an explicit
// constraint. See ../projection.hpp.
#include <symgrad/plugin/projection.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

void register_components(PluginRegistrar& r) {
  r.add_regularizer("l2_ball", "after each step, ||W||_2 <= c (the whole tensor, or per unit)",
                    projection_schema(1.0, false),
                    [](const Hyperparams& h) { return std::make_unique<Projection>(h, false); });
}

}  // namespace

SYMGRAD_PLUGIN("l2_ball", "1.0.0", register_components)
