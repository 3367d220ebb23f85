#include "symgrad/train/clipping.hpp"

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/ops/ops.hpp"

namespace symgrad {

std::vector<Value> clip_by_global_norm(const std::vector<Value>& grads, double max_norm) {
  if (!(max_norm > 0)) throw UsageError(fmt::format("clip_by_global_norm: max_norm must be > 0, got {}", max_norm));
  if (grads.empty()) return {};
  Value squares = sum(square(grads[0]));
  for (std::size_t i = 1; i < grads.size(); ++i) squares = squares + sum(square(grads[i]));
  Value norm = sqrt(squares) + 1e-6;
  Graph& g = *grads[0].graph;
  Value limit = g.scalar(max_norm, grads[0].dtype());
  // scale = min(1, max_norm / (norm + 1e-6))
  Value scale = where(greater(norm, limit), limit / norm, g.scalar(1.0, grads[0].dtype()));
  std::vector<Value> out;
  for (const auto& v : grads) out.push_back(v * scale);
  return out;
}

std::vector<Value> clip_by_value(const std::vector<Value>& grads, double clip_value) {
  if (!(clip_value > 0)) throw UsageError(fmt::format("clip_by_value: clip_value must be > 0, got {}", clip_value));
  std::vector<Value> out;
  for (const auto& v : grads) {
    Graph& g = *v.graph;
    Value hi = g.scalar(clip_value, v.dtype()), lo = g.scalar(-clip_value, v.dtype());
    out.push_back(where(greater(v, hi), broadcast_like(hi, v), where(less(v, lo), broadcast_like(lo, v), v)));
  }
  return out;
}

}  // namespace symgrad
