#pragma once
/// @file
/// Element types of tensors.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace symgrad {

/// Element type of a tensor.
enum class DType : std::uint8_t { f32, f64, i32, i64 };

/// Size of one element in bytes.
constexpr std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::f32: return 4;
    case DType::f64: return 8;
    case DType::i32: return 4;
    case DType::i64: return 8;
  }
  return 0;
}

/// True for f32 and f64.
constexpr bool is_floating(DType t) { return t == DType::f32 || t == DType::f64; }

/// "f32", "f64", "i32" or "i64".
std::string_view to_string(DType t);

/// Parses "f32", "f64", "i32", "i64"; throws UsageError otherwise.
DType parse_dtype(std::string_view s);

/// The DType of a C++ element type.
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::f32; }
template <>
constexpr DType dtype_of<double>() { return DType::f64; }
template <>
constexpr DType dtype_of<std::int32_t>() { return DType::i32; }
template <>
constexpr DType dtype_of<std::int64_t>() { return DType::i64; }

/// Calls `f(T{})` with T the C++ type of `t` (float, double, int32_t or int64_t).
template <class F>
decltype(auto) visit_dtype(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::i32: return f(std::int32_t{});
    case DType::i64: return f(std::int64_t{});
  }
  return f(double{});
}

}  // namespace symgrad
