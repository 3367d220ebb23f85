#include "metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace symgrad::trainer_detail {

void Score::add(const Tensor& output, const Tensor& target) {
  const std::int64_t b = output.shape()[0];
  if (task_ == Task::classification) {  // argmax of each row against the class; the class among the top 5
    const std::int64_t c = output.numel() / std::max<std::int64_t>(b, 1);
    for (std::int64_t i = 0; i < b; ++i) {
      std::int64_t best = 0;
      const auto label = static_cast<std::int64_t>(target.get(i));
      std::int64_t above = 0;  // classes scored above the label's
      for (std::int64_t j = 0; j < c; ++j) {
        if (j > 0 && output.get(i * c + j) > output.get(i * c + best)) best = j;
        above += output.get(i * c + j) > output.get(i * c + label);
      }
      sums_[0] += best == label;
      sums_[2] += above < 5;
    }
    sums_[1] += static_cast<double>(b);
    sums_[3] = std::max(sums_[3], static_cast<double>(c));
  } else if (task_ == Task::multilabel) {  // a logit > 0 says 1; a target > 0.5 is 1
    for (std::int64_t i = 0; i < output.numel(); ++i) sums_[0] += (output.get(i) > 0) == (target.get(i) > 0.5);
    sums_[1] += static_cast<double>(output.numel());
  } else {
    for (std::int64_t i = 0; i < output.numel(); ++i) {
      const double t = target.get(i), d = output.get(i) - t;
      sums_[0] += d * d, sums_[1] += std::abs(d), sums_[2] += t, sums_[3] += t * t;
    }
    sums_[4] += static_cast<double>(output.numel());
  }
}

double Score::primary() const {
  const auto m = metrics();
  return m.at(primary_name());
}

std::map<std::string, double> Score::metrics() const {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (task_ == Task::multilabel) return {{"accuracy", sums_[1] > 0 ? sums_[0] / sums_[1] : nan}};
  if (task_ == Task::classification) {
    std::map<std::string, double> m = {{"accuracy", sums_[1] > 0 ? sums_[0] / sums_[1] : nan}};
    if (sums_[3] > 5) m["top5"] = sums_[1] > 0 ? sums_[2] / sums_[1] : nan;  // (with 5 classes or fewer, always 1)
    return m;
  }
  const double n = sums_[4];
  if (n == 0) return {{"rmse", nan}, {"mae", nan}, {"r2", nan}};
  // R^2 = 1 - SSE / SST, SST the targets' squared deviations from their mean (over every element)
  const double sst = sums_[3] - sums_[2] * sums_[2] / n;
  return {{"rmse", std::sqrt(sums_[0] / n)}, {"mae", sums_[1] / n}, {"r2", sst > 0 ? 1 - sums_[0] / sst : nan}};
}

}  // namespace symgrad::trainer_detail
