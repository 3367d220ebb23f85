// l1_ball: the weights re-projected onto the L1 ball ||W||_1 <= c after every step (Duchi et al.,
// "Efficient Projections onto the l1-Ball for Learning in High Dimensions", ICML 2008): the
// projection soft-thresholds, so it leaves exact zeros. See ../projection.hpp.
#include <symgrad/plugin/projection.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

void register_components(PluginRegistrar& r) {
  r.add_regularizer("l1_ball", "after each step, ||W||_1 <= c (the whole tensor, or per unit); exact zeros",
                    projection_schema(1.0, false),
                    [](const Hyperparams& h) { return std::make_unique<Projection>(h, true); });
}

}  // namespace

SYMGRAD_PLUGIN("l1_ball", "1.0.0", register_components)
