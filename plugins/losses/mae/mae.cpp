// mae: the mean absolute error of predictions p against targets t of p's shape (torch.nn.L1Loss):
//   loss_i = mean over the example's elements of |p - t|
// Its gradient is sign(p - t): every error pulls with the same force, outliers included.
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Mae final : public Loss {
 public:
  Task task() const override { return Task::regression; }
  Value per_example(Value p, Value t) const override {
    require_target_like("mae", p, t);
    return per_example_mean(abs(p - t));
  }
};

void register_components(PluginRegistrar& r) {
  r.add_loss("mae", "mean absolute error (torch L1Loss): regression", Schema{},
             [](const Hyperparams&) { return std::make_unique<Mae>(); });
}

}  // namespace

SYMGRAD_PLUGIN("mae", "1.0.0", register_components)
