// huber: squared error near 0, absolute error in the tails (torch.nn.HuberLoss), d = p - t:
//   d^2 / 2                 where |d| < delta
//   delta (|d| - delta / 2) elsewhere
// The two pieces meet with equal value and slope at |d| = delta; past it an outlier pulls with a
// bounded gradient, +-delta. Per example: the mean over the example's elements.
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class Huber final : public Loss {
 public:
  explicit Huber(double delta) : delta_(delta) {}
  Task task() const override { return Task::regression; }
  Value per_example(Value p, Value t) const override {
    require_target_like("huber", p, t);
    Value d = p - t, a = abs(d);
    Value inside = less(a, p.graph->scalar(delta_, p.dtype()));
    return per_example_mean(where(inside, 0.5 * square(d), delta_ * (a - 0.5 * delta_)));
  }

 private:
  double delta_;
};

void register_components(PluginRegistrar& r) {
  r.add_loss("huber", "squared error near 0, absolute error past delta (torch HuberLoss): regression with outliers",
             Schema{real_param("delta", 1.0, "where the loss turns from quadratic to linear").greater_than(0)},
             [](const Hyperparams& h) { return std::make_unique<Huber>(h.real("delta")); });
}

}  // namespace

SYMGRAD_PLUGIN("huber", "1.0.0", register_components)
