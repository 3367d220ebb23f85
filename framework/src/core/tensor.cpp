#include "symgrad/core/tensor.hpp"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

namespace symgrad {
namespace {

constexpr std::size_t kAlignment = 64;
// A single tensor larger than this is refused: it is a bug (an overflowing shape), not a request.
constexpr std::int64_t kMaxBytes = std::int64_t{1} << 40;

std::shared_ptr<std::byte> allocate(std::int64_t bytes) {
  std::size_t n = static_cast<std::size_t>(bytes);
  n = (n + kAlignment - 1) / kAlignment * kAlignment;
  if (n == 0) n = kAlignment;
  void* p = std::aligned_alloc(kAlignment, n);
  if (p == nullptr) throw Error(fmt::format("out of memory allocating {} bytes", n));
  std::memset(p, 0, n);
  return {static_cast<std::byte*>(p), [](std::byte* q) { std::free(q); }};
}

}  // namespace

Tensor::Tensor(const TensorType& type) : type_(type) {
  if (!type.shape.is_static()) {
    throw ShapeError(fmt::format("cannot allocate a tensor of open type {}", type.to_string()));
  }
  numel_ = type.shape.numel();
  std::int64_t bytes = checked_mul(numel_, static_cast<std::int64_t>(dtype_size(type.dtype)));
  if (bytes > kMaxBytes) {
    throw ShapeError(fmt::format("tensor of type {} would take {} bytes, over the limit of {}",
                                 type.to_string(), bytes, kMaxBytes));
  }
  storage_ = allocate(bytes);
}

Tensor Tensor::from(DType dtype, const Shape& shape, const std::vector<double>& values) {
  Tensor t(dtype, shape);
  if (static_cast<std::int64_t>(values.size()) != t.numel()) {
    throw ShapeError(fmt::format("Tensor::from: {} values given for shape {} ({} elements)",
                                 values.size(), shape.to_string(), t.numel()));
  }
  for (std::size_t i = 0; i < values.size(); ++i) t.set(static_cast<std::int64_t>(i), values[i]);
  return t;
}

Tensor Tensor::wrap(std::shared_ptr<std::byte> storage, const TensorType& type) {
  Tensor t;
  t.type_ = type;
  t.numel_ = type.shape.numel();
  t.storage_ = std::move(storage);
  return t;
}

Tensor Tensor::scalar(DType dtype, double value) { return from(dtype, Shape{}, {value}); }

void Tensor::check_dtype(DType want) const {
  if (want != dtype()) {
    throw ShapeError(fmt::format("tensor of type {} accessed as {}", type_.to_string(),
                                 symgrad::to_string(want)));
  }
}

double Tensor::get(std::int64_t i) const {
  return visit_dtype(dtype(), [&](auto z) {
    return static_cast<double>(static_cast<const decltype(z)*>(raw())[i]);
  });
}

void Tensor::set(std::int64_t i, double v) {
  visit_dtype(dtype(), [&](auto z) {
    static_cast<decltype(z)*>(raw())[i] = static_cast<decltype(z)>(v);
  });
}

std::vector<double> Tensor::to_vector() const {
  std::vector<double> out(static_cast<std::size_t>(numel_));
  for (std::int64_t i = 0; i < numel_; ++i) out[static_cast<std::size_t>(i)] = get(i);
  return out;
}

void Tensor::fill(double v) {
  for (std::int64_t i = 0; i < numel_; ++i) set(i, v);
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor t(type_);
  std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  if (src.dtype() != dtype() || src.numel() != numel()) {
    throw ShapeError(fmt::format("copy_from: source {} does not fit destination {}",
                                 src.type().to_string(), type_.to_string()));
  }
  if (src.raw() != raw()) std::memcpy(raw(), src.raw(), nbytes());
}

Tensor Tensor::reshaped(const Shape& shape) const {
  if (shape.numel() != numel_) {
    throw ShapeError(fmt::format("cannot view {} as shape {}", type_.to_string(), shape.to_string()));
  }
  Tensor t = *this;
  t.type_.shape = shape;
  return t;
}

Tensor Tensor::to(DType dtype) const {
  Tensor t(dtype, shape());
  for (std::int64_t i = 0; i < numel_; ++i) t.set(i, get(i));
  return t;
}

}  // namespace symgrad
