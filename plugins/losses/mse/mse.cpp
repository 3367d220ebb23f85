// mse: the mean squared error of predictions p against targets t of p's shape (torch.nn.MSELoss):
//   loss_i = mean over the example's elements of (p - t)^2
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Mse final : public Loss {
 public:
  Task task() const override { return Task::regression; }
  Value per_example(Value p, Value t) const override {
    require_target_like("mse", p, t);
    return per_example_mean(square(p - t));
  }
};

void register_components(PluginRegistrar& r) {
  r.add_loss("mse", "mean squared error (torch MSELoss): regression", Schema{},
             [](const Hyperparams&) { return std::make_unique<Mse>(); });
}

}  // namespace

SYMGRAD_PLUGIN("mse", "1.0.0", register_components)
