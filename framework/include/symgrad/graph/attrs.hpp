#pragma once
/// @file
/// Immutable, hashable op attributes (axes, strides, scalars, names).

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace symgrad {

/// One attribute value: an integer, a real number, a list of integers or a string.
using AttrValue = std::variant<std::int64_t, double, std::vector<std::int64_t>, std::string>;

/// A small sorted map from attribute name to value. Equality and hash are structural, so two
/// nodes with the same op, inputs and attributes are recognised as identical.
class Attrs {
 public:
  Attrs() = default;
  /// Builds from pairs, e.g. `Attrs{{"axis", std::int64_t{1}}}`.
  Attrs(std::initializer_list<std::pair<std::string, AttrValue>> items);

  /// Sets (or replaces) `name`; returns *this for chaining.
  Attrs& set(const std::string& name, AttrValue value);
  bool has(const std::string& name) const;

  /// Typed getters; throw UsageError naming the attribute when missing or of another type.
  std::int64_t get_int(const std::string& name) const;
  double get_float(const std::string& name) const;
  const std::vector<std::int64_t>& get_ints(const std::string& name) const;
  const std::string& get_string(const std::string& name) const;
  /// Getters with a default used when the attribute is absent.
  std::int64_t get_int(const std::string& name, std::int64_t fallback) const;
  double get_float(const std::string& name, double fallback) const;

  const std::vector<std::pair<std::string, AttrValue>>& items() const { return items_; }
  bool operator==(const Attrs&) const = default;
  std::size_t hash() const;
  /// "axis=1, keepdims=0".
  std::string to_string() const;

 private:
  const AttrValue& get(const std::string& name) const;
  std::vector<std::pair<std::string, AttrValue>> items_;
};

}  // namespace symgrad
