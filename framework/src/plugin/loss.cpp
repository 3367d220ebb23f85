#include "symgrad/plugin/loss.hpp"

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/ops/ops.hpp"

namespace symgrad {

const char* to_string(Task t) {
  switch (t) {
    case Task::classification: return "classification";
    case Task::multilabel: return "multilabel";
    case Task::regression: return "regression";
  }
  return "?";
}

Value per_example_mean(Value v) {
  Axes axes;
  for (std::size_t d = 1; d < v.shape().rank(); ++d) axes.push_back(static_cast<std::int64_t>(d));
  return axes.empty() ? v : mean(v, axes);
}

void require_target_like(const char* loss, Value output, Value target) {
  if (output.type() != target.type()) {
    throw ShapeError(fmt::format("{} needs targets of its output's type {}, got {}", loss, output.type().to_string(),
                                 target.type().to_string()));
  }
}

GradcheckResult gradcheck_loss(const Loss& loss, const GradcheckOptions& options) {
  Graph g;
  const Shape shape{3, 4};
  Value output = g.input("output", {DType::f64, shape});
  const std::vector<double> z = {0.3, -1.7, 2.5, 0.1, -0.4, 1.2, 0.7, 0.0, 1.0, 2.0, -3.0, 0.5};
  Feeds feeds = {{"output", Tensor::from(DType::f64, shape, z)}};
  Value target;
  if (loss.task() == Task::classification) {
    target = g.input("target", {DType::i32, Shape{3}});
    feeds["target"] = Tensor::from(DType::i32, Shape{3}, {2, 0, 3});
  } else {
    target = g.input("target", {DType::f64, shape});
    // output - target: +-0.35, +-0.6, +-1.45, +-2.2, ... (no 0, no +-1); in 0..1 for multi-label
    const std::vector<double> d = {0.35, -0.6, 1.45, -2.2, 0.6, -0.35, 2.2, -1.45, 0.45, 0.8, -0.8, 1.7};
    std::vector<double> t(z.size());
    for (std::size_t i = 0; i < z.size(); ++i) t[i] = loss.task() == Task::multilabel ? (i % 3 == 0 ? 1.0 : 0.0) : z[i] - d[i];
    feeds["target"] = Tensor::from(DType::f64, shape, t);
  }
  return gradcheck({mean(loss.per_example(output, target))}, {output}, feeds, options);
}

}  // namespace symgrad
