#include "symgrad/train/losses.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/names.hpp"
#include "symgrad/ops/ops.hpp"

namespace symgrad {

namespace {

// The mean over every axis of v but the batch's: [N, ...] -> [N] (v itself when [N]).
Value per_example_mean(Value v) {
  Axes axes;
  for (std::size_t d = 1; d < v.shape().rank(); ++d) axes.push_back(static_cast<std::int64_t>(d));
  return axes.empty() ? v : mean(v, axes);
}

void check_same(const char* loss, Value output, Value target) {
  if (output.type() != target.type()) {
    throw ShapeError(fmt::format("{} needs targets of its output's type {}, got {}", loss, output.type().to_string(),
                                 target.type().to_string()));
  }
}

class SoftmaxCrossEntropy final : public Loss {
 public:
  Task task() const override { return Task::classification; }
  // -log softmax(z)_y = logsumexp(z) - z_y, one op (stable)
  Value per_example(Value z, Value y) const override {
    if (z.shape().rank() != 2) {
      throw ShapeError(fmt::format("softmax_cross_entropy needs an output [N, classes], got {}", z.type().to_string()));
    }
    return softmax_cross_entropy(z, y);
  }
};

class BinaryCrossEntropy final : public Loss {
 public:
  Task task() const override { return Task::multilabel; }
  // -(y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))) = relu(z) - z y + log(1 + e^-|z|): no
  // exponential of a large positive number, for any z
  Value per_example(Value z, Value y) const override {
    check_same("binary_cross_entropy", z, y);
    return per_example_mean(relu(z) - z * y + softplus(-abs(z)));
  }
};

// A regression loss of the elementwise error d = p - t: (p - t)^2 (mse) or |p - t| (mae).
class ErrorLoss final : public Loss {
 public:
  ErrorLoss(const char* name, Value (*of_error)(Value)) : name_(name), of_error_(of_error) {}
  Task task() const override { return Task::regression; }
  Value per_example(Value p, Value t) const override {
    check_same(name_, p, t);
    return per_example_mean(of_error_(p - t));
  }

 private:
  const char* name_;
  Value (*of_error_)(Value);
};

class Huber final : public Loss {
 public:
  explicit Huber(double delta) : delta_(delta) {}
  Task task() const override { return Task::regression; }
  // d^2 / 2 where |d| < delta, delta (|d| - delta / 2) elsewhere: quadratic near 0, linear in the
  // tails (outliers pull with a bounded gradient, +-delta)
  Value per_example(Value p, Value t) const override {
    check_same("huber", p, t);
    Value d = p - t, a = abs(d);
    Value inside = less(a, p.graph->scalar(delta_, p.dtype()));
    return per_example_mean(where(inside, 0.5 * square(d), delta_ * (a - 0.5 * delta_)));
  }

 private:
  double delta_;
};

template <class L>
std::function<std::unique_ptr<Loss>(const Hyperparams&)> plain() {
  return [](const Hyperparams&) { return std::make_unique<L>(); };
}

}  // namespace

const std::vector<LossInfo>& losses() {
  static const std::vector<LossInfo> all = {
      {"binary_cross_entropy", "independent 0/1 labels, from logits (torch BCEWithLogitsLoss): multi-label", Schema{},
       plain<BinaryCrossEntropy>()},
      {"huber", "squared error near 0, absolute error past delta (torch HuberLoss): regression with outliers",
       Schema{real_param("delta", 1.0, "where the loss turns from quadratic to linear").greater_than(0)},
       [](const Hyperparams& h) { return std::make_unique<Huber>(h.real("delta")); }},
      {"mae", "mean absolute error (torch L1Loss): regression", Schema{},
       [](const Hyperparams&) { return std::make_unique<ErrorLoss>("mae", [](Value d) { return abs(d); }); }},
      {"mse", "mean squared error (torch MSELoss): regression", Schema{},
       [](const Hyperparams&) { return std::make_unique<ErrorLoss>("mse", [](Value d) { return square(d); }); }},
      {"softmax_cross_entropy", "one class of C from logits (torch CrossEntropyLoss): classification", Schema{},
       plain<SoftmaxCrossEntropy>()},
  };
  return all;
}

std::unique_ptr<Loss> make_loss(const std::string& name, const Settings& settings, const std::string& owner) {
  std::vector<std::string> names;
  for (const auto& info : losses()) {
    if (info.name == name) return info.make(Hyperparams(info.schema, settings, fmt::format("{}loss '{}'", owner, name)));
    names.push_back(info.name);
  }
  throw UsageError(fmt::format("{}unknown loss '{}'{}; the losses are: {}", owner, name, did_you_mean(name, names),
                               fmt::format("{}", fmt::join(names, ", "))));
}

}  // namespace symgrad
