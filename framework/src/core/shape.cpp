#include "symgrad/core/shape.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

namespace symgrad {

Shape::Shape(std::initializer_list<std::int64_t> dims) : Shape(std::vector<std::int64_t>(dims)) {}

Shape::Shape(std::vector<std::int64_t> dims) : dims_(std::move(dims)) {
  for (std::int64_t d : dims_) {
    if (d < 0 && d != kOpen) {
      throw ShapeError(fmt::format("invalid dimension {} in shape {}: dimensions are >= 0, or -1 "
                                   "for an open dimension",
                                   d, to_string()));
    }
  }
}

std::int64_t Shape::dim(std::int64_t i) const {
  return dims_[static_cast<std::size_t>(normalize_axis(i, rank()))];
}

bool Shape::is_static() const {
  for (std::int64_t d : dims_) {
    if (d == kOpen) return false;
  }
  return true;
}

std::int64_t checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) {
    throw ShapeError(fmt::format("size overflow: {} * {} does not fit in 64 bits", a, b));
  }
  return r;
}

std::int64_t Shape::numel() const {
  std::int64_t n = 1;
  for (std::int64_t d : dims_) {
    if (d == kOpen) {
      throw ShapeError(fmt::format("shape {} has an open dimension: its size is not known", to_string()));
    }
    n = checked_mul(n, d);
  }
  return n;
}

std::string Shape::to_string() const {
  std::string s = "[";
  for (std::size_t i = 0; i < dims_.size(); ++i) {
    if (i) s += ", ";
    s += dims_[i] == kOpen ? std::string("?") : std::to_string(dims_[i]);
  }
  return s + "]";
}

std::int64_t normalize_axis(std::int64_t axis, std::size_t rank) {
  auto r = static_cast<std::int64_t>(rank);
  if (axis < -r || axis >= r) {
    throw ShapeError(fmt::format("axis {} is out of range for rank {}", axis, rank));
  }
  return axis < 0 ? axis + r : axis;
}

std::string TensorType::to_string() const {
  return fmt::format("{}{}", symgrad::to_string(dtype), shape.to_string());
}

std::vector<std::int64_t> reduction_axes(const std::vector<std::int64_t>& axes, std::size_t rank) {
  std::vector<std::int64_t> out;
  if (axes.empty()) {
    for (std::size_t i = 0; i < rank; ++i) out.push_back(static_cast<std::int64_t>(i));
    return out;
  }
  for (auto a : axes) out.push_back(normalize_axis(a, rank));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Shape reduced_shape(const Shape& shape, const std::vector<std::int64_t>& axes, bool keepdims) {
  std::vector<std::int64_t> dims;
  for (std::size_t i = 0; i < shape.rank(); ++i) {
    const bool reduced =
        std::find(axes.begin(), axes.end(), static_cast<std::int64_t>(i)) != axes.end();
    if (!reduced) {
      dims.push_back(shape[i]);
    } else if (keepdims) {
      dims.push_back(1);
    }
  }
  return Shape(std::move(dims));
}

}  // namespace symgrad
