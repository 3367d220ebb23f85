// log_cosh: a regression loss, log(cosh(p - t)): d^2 / 2 near 0, |d| - log 2 in the tails (as
// Huber, but smooth everywhere). cosh overflows past |d| = 710, so it is written with softplus:
//   log(cosh(d)) = |d| + log(1 + e^(-2|d|)) - log 2 = |d| + softplus(-2|d|) - log 2
// whose derivative, tanh(d), is the ops' pullbacks' (at d = 0 too: sign(0) = 0).
#include <cmath>

#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class LogCosh final : public Loss {
 public:
  Task task() const override { return Task::regression; }
  Value per_example(Value p, Value t) const override {
    require_target_like("log_cosh", p, t);  // a ShapeError naming both types otherwise
    Value a = abs(p - t);
    return per_example_mean(a + softplus(-2.0 * a) - std::log(2.0));  // the mean over each example's values
  }
};

void register_components(PluginRegistrar& r) {
  r.add_loss("log_cosh", "log(cosh(p - t)): squared error near 0, absolute in the tails, smooth", Schema{},
             [](const Hyperparams&) { return std::make_unique<LogCosh>(); });
}

}  // namespace

SYMGRAD_PLUGIN("log_cosh", "1.0.0", register_components)
