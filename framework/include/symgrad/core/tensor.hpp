#pragma once
/// @file
/// Runtime tensors: a 64-byte aligned, contiguous, row-major buffer with a dtype and a shape.

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "symgrad/core/shape.hpp"

namespace symgrad {

/// A runtime buffer. Copies share storage (like a handle); use clone() for a deep copy.
/// The shape is always static. The storage is 64-byte aligned and contiguous (row-major).
class Tensor {
 public:
  /// An empty f64 scalar-less tensor (no storage); `defined()` is false.
  Tensor() = default;
  /// Allocates a zero-filled tensor of the given static type; throws ShapeError if open or huge.
  explicit Tensor(const TensorType& type);
  Tensor(DType dtype, const Shape& shape) : Tensor(TensorType{dtype, shape}) {}

  /// A tensor filled from `values` (converted to `dtype`); sizes must match.
  static Tensor from(DType dtype, const Shape& shape, const std::vector<double>& values);
  /// A scalar tensor.
  static Tensor scalar(DType dtype, double value);
  /// A tensor of `type` over existing storage (at least type's bytes, 64-byte aligned), shared
  /// with other tensors: how a plan places values in its reused buffers.
  static Tensor wrap(std::shared_ptr<std::byte> storage, const TensorType& type);

  bool defined() const { return storage_ != nullptr; }
  const TensorType& type() const { return type_; }
  DType dtype() const { return type_.dtype; }
  const Shape& shape() const { return type_.shape; }
  std::int64_t numel() const { return numel_; }
  std::size_t nbytes() const { return static_cast<std::size_t>(numel_) * dtype_size(dtype()); }

  /// Typed pointer to the elements; throws ShapeError when T does not match the dtype.
  template <class T>
  T* data() {
    check_dtype(dtype_of<T>());
    return static_cast<T*>(raw());
  }
  template <class T>
  const T* data() const {
    check_dtype(dtype_of<T>());
    return static_cast<const T*>(raw());
  }
  void* raw() { return storage_.get(); }
  const void* raw() const { return storage_.get(); }

  /// Element `i` (flat, row-major) converted to double.
  double get(std::int64_t i) const;
  /// Sets element `i` (flat) from a double, converting to the dtype.
  void set(std::int64_t i, double v);
  /// All elements as doubles.
  std::vector<double> to_vector() const;
  /// Sets every element to `v`.
  void fill(double v);

  /// A deep copy.
  Tensor clone() const;
  /// Copies the elements of `src` (same dtype and numel) into this tensor's storage.
  void copy_from(const Tensor& src);
  /// Same storage, another shape with the same number of elements.
  Tensor reshaped(const Shape& shape) const;
  /// A copy converted to `dtype`.
  Tensor to(DType dtype) const;

 private:
  void check_dtype(DType want) const;

  TensorType type_;
  std::int64_t numel_ = 0;
  std::shared_ptr<std::byte> storage_;
};

}  // namespace symgrad
