#include "symgrad/core/dtype.hpp"

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

namespace symgrad {

std::string_view to_string(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
  }
  return "?";
}

DType parse_dtype(std::string_view s) {
  for (DType t : {DType::f32, DType::f64, DType::i32, DType::i64}) {
    if (to_string(t) == s) return t;
  }
  throw UsageError(fmt::format("unknown dtype '{}': expected f32, f64, i32 or i64", s));
}

}  // namespace symgrad
