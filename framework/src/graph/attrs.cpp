#include "symgrad/graph/attrs.hpp"

#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "symgrad/core/error.hpp"

namespace symgrad {

Attrs::Attrs(std::initializer_list<std::pair<std::string, AttrValue>> items) {
  for (const auto& [k, v] : items) set(k, v);
}

Attrs& Attrs::set(const std::string& name, AttrValue value) {
  auto it = std::lower_bound(items_.begin(), items_.end(), name,
                             [](const auto& item, const std::string& n) { return item.first < n; });
  if (it != items_.end() && it->first == name) {
    it->second = std::move(value);
  } else {
    items_.insert(it, {name, std::move(value)});
  }
  return *this;
}

bool Attrs::has(const std::string& name) const {
  return std::any_of(items_.begin(), items_.end(), [&](const auto& i) { return i.first == name; });
}

const AttrValue& Attrs::get(const std::string& name) const {
  for (const auto& [k, v] : items_) {
    if (k == name) return v;
  }
  throw UsageError(fmt::format("missing attribute '{}' (have: {})", name, to_string()));
}

namespace {
template <class T>
const T& typed(const AttrValue& v, const std::string& name, const char* want) {
  if (const T* p = std::get_if<T>(&v)) return *p;
  throw UsageError(fmt::format("attribute '{}' is not {}", name, want));
}
}  // namespace

std::int64_t Attrs::get_int(const std::string& name) const {
  return typed<std::int64_t>(get(name), name, "an integer");
}
double Attrs::get_float(const std::string& name) const {
  const AttrValue& v = get(name);
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  return typed<double>(v, name, "a number");
}
const std::vector<std::int64_t>& Attrs::get_ints(const std::string& name) const {
  return typed<std::vector<std::int64_t>>(get(name), name, "a list of integers");
}
const std::string& Attrs::get_string(const std::string& name) const {
  return typed<std::string>(get(name), name, "a string");
}
std::int64_t Attrs::get_int(const std::string& name, std::int64_t fallback) const {
  return has(name) ? get_int(name) : fallback;
}
double Attrs::get_float(const std::string& name, double fallback) const {
  return has(name) ? get_float(name) : fallback;
}

std::size_t Attrs::hash() const {
  std::size_t h = 0x9e3779b97f4a7c15ULL;
  auto mix = [&](std::size_t x) { h ^= x + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
  for (const auto& [k, v] : items_) {
    mix(std::hash<std::string>{}(k));
    mix(v.index());
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
            for (auto e : x) mix(std::hash<std::int64_t>{}(e));
          } else {
            mix(std::hash<T>{}(x));
          }
        },
        v);
  }
  return h;
}

std::string Attrs::to_string() const {
  std::string s;
  for (const auto& [k, v] : items_) {
    if (!s.empty()) s += ", ";
    s += k + "=";
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::vector<std::int64_t>>) {
            s += fmt::format("[{}]", fmt::join(x, ", "));
          } else if constexpr (std::is_same_v<T, std::string>) {
            s += "'" + x + "'";
          } else {
            s += fmt::format("{}", x);
          }
        },
        v);
  }
  return s;
}

}  // namespace symgrad
