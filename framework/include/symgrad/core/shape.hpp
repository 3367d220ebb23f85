#pragma once
/// @file
/// Shapes (with open dimensions) and the static type of a graph value.

#include <compare>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "symgrad/core/dtype.hpp"

namespace symgrad {

/// A tensor shape. A dimension of `Shape::kOpen` (-1) is not known until a plan runs (an open
/// batch dimension). Sizes are computed with checked arithmetic: overflow is a ShapeError.
class Shape {
 public:
  /// Marks a dimension whose size is known only at run time.
  static constexpr std::int64_t kOpen = -1;

  Shape() = default;
  Shape(std::initializer_list<std::int64_t> dims);
  /// Throws ShapeError if a dimension is negative other than kOpen.
  explicit Shape(std::vector<std::int64_t> dims);

  std::size_t rank() const { return dims_.size(); }
  std::int64_t operator[](std::size_t i) const { return dims_[i]; }
  /// Dimension `i`, where negative `i` counts from the end (Python style); checked.
  std::int64_t dim(std::int64_t i) const;
  const std::vector<std::int64_t>& dims() const { return dims_; }
  /// True when no dimension is open.
  bool is_static() const;
  /// Number of elements (1 for a scalar); throws ShapeError when open or overflowing.
  std::int64_t numel() const;

  bool operator==(const Shape&) const = default;
  auto operator<=>(const Shape&) const = default;
  /// "[2, 3]", with "?" for open dimensions.
  std::string to_string() const;

 private:
  std::vector<std::int64_t> dims_;
};

/// Normalizes an axis that may be negative against `rank`; throws ShapeError when out of range.
std::int64_t normalize_axis(std::int64_t axis, std::size_t rank);

/// Sorted, unique, non-negative axes of a reduction over `axes` (negative counted from the end)
/// at `rank`; empty means all axes. Throws ShapeError on an axis out of range.
std::vector<std::int64_t> reduction_axes(const std::vector<std::int64_t>& axes, std::size_t rank);
/// `shape` with the (normalized) reduction `axes` set to 1 (keepdims) or removed.
Shape reduced_shape(const Shape& shape, const std::vector<std::int64_t>& axes, bool keepdims);

/// `a * b` for sizes, throwing ShapeError on overflow.
std::int64_t checked_mul(std::int64_t a, std::int64_t b);

/// The static type of a graph value: element type and shape.
struct TensorType {
  DType dtype = DType::f64;
  Shape shape;

  bool operator==(const TensorType&) const = default;
  /// "f64[2, 3]".
  std::string to_string() const;
};

}  // namespace symgrad
