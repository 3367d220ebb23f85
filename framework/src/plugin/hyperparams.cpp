#include "symgrad/plugin/hyperparams.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/names.hpp"

namespace symgrad {

const char* to_string(ParamType t) {
  switch (t) {
    case ParamType::boolean: return "bool";
    case ParamType::integer: return "int";
    case ParamType::real: return "float";
    case ParamType::string: return "string";
  }
  return "?";
}

std::string to_string(const ParamValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::string>) {
          return x;
        } else {
          return fmt::format("{}", x);
        }
      },
      v);
}

namespace {

ParamType type_of(const ParamValue& v) {
  switch (v.index()) {
    case 0: return ParamType::boolean;
    case 1: return ParamType::integer;
    case 2: return ParamType::real;
    default: return ParamType::string;
  }
}

std::optional<double> number(const ParamValue& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return std::nullopt;
}

// `v` converted to `type` where no information is lost (an integer where a real is declared).
std::optional<ParamValue> convert(const ParamValue& v, ParamType type) {
  if (type_of(v) == type) return v;
  if (type == ParamType::real) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
  }
  return std::nullopt;
}

}  // namespace

std::string ParamSpec::range_text() const {
  if (!choices.empty()) {
    std::string s = "one of: ";
    for (std::size_t i = 0; i < choices.size(); ++i) s += (i ? ", " : "") + choices[i];
    return s;
  }
  if (min && max) return fmt::format("{}{}, {}{}", min_open ? "(" : "[", *min, *max, max_open ? ")" : "]");
  if (min) return fmt::format("{} {}", min_open ? ">" : ">=", *min);
  if (max) return fmt::format("{} {}", max_open ? "<" : "<=", *max);
  return "";
}

bool ParamSpec::allows(const ParamValue& v) const {
  if (type_of(v) != type) return false;
  if (const auto* s = std::get_if<std::string>(&v)) {
    return choices.empty() || std::find(choices.begin(), choices.end(), *s) != choices.end();
  }
  if (auto x = number(v)) {
    if (!std::isfinite(*x)) return false;  // a real setting is a number (lr = inf is no rate)
    if (min && (min_open ? *x <= *min : *x < *min)) return false;
    if (max && (max_open ? *x >= *max : *x > *max)) return false;
  }
  return true;
}

namespace {
ParamSpec spec(std::string name, ParamType type, ParamValue default_value, std::string doc) {
  ParamSpec s;
  s.name = std::move(name);
  s.type = type;
  s.default_value = std::move(default_value);
  s.doc = std::move(doc);
  return s;
}
}  // namespace

ParamSpec real_param(std::string name, double default_value, std::string doc) {
  return spec(std::move(name), ParamType::real, default_value, std::move(doc));
}
ParamSpec int_param(std::string name, std::int64_t default_value, std::string doc) {
  return spec(std::move(name), ParamType::integer, default_value, std::move(doc));
}
ParamSpec bool_param(std::string name, bool default_value, std::string doc) {
  return spec(std::move(name), ParamType::boolean, default_value, std::move(doc));
}
ParamSpec string_param(std::string name, std::string default_value, std::string doc) {
  return spec(std::move(name), ParamType::string, std::move(default_value), std::move(doc));
}
ParamSpec choice_param(std::string name, std::string default_value, std::vector<std::string> choices,
                       std::string doc) {
  ParamSpec s = spec(std::move(name), ParamType::string, std::move(default_value), std::move(doc));
  s.choices = std::move(choices);
  return s;
}

Schema::Schema(std::initializer_list<ParamSpec> specs) {
  for (const auto& s : specs) add(s);
}

Schema& Schema::add(ParamSpec spec) {
  specs_.push_back(std::move(spec));
  return *this;
}

const ParamSpec* Schema::find(const std::string& name) const {
  for (const auto& s : specs_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

void Schema::validate(const std::string& owner) const {
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    const ParamSpec& s = specs_[i];
    if (s.name.empty()) throw UsageError(fmt::format("{}: hyperparameter {} has no name", owner, i));
    for (std::size_t j = 0; j < i; ++j) {
      if (specs_[j].name == s.name) {
        throw UsageError(fmt::format("{}: hyperparameter '{}' is declared twice", owner, s.name));
      }
    }
    if (type_of(s.default_value) != s.type) {
      throw UsageError(fmt::format("{}: the default of '{}' is a {}, but it is declared {}", owner, s.name,
                                   to_string(type_of(s.default_value)), to_string(s.type)));
    }
    if (!s.choices.empty() && s.type != ParamType::string) {
      throw UsageError(fmt::format("{}: '{}' has choices but is not a string", owner, s.name));
    }
    if (!s.allows(s.default_value)) {
      throw UsageError(fmt::format("{}: the default of '{}' ({}) is outside its range {}", owner, s.name,
                                   symgrad::to_string(s.default_value), s.range_text()));
    }
  }
}

std::pair<std::string, ParamValue> parse_setting(const std::string& text, const Schema& schema) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw UsageError(fmt::format("setting '{}' is not of the form key=value", text));
  }
  const std::string key = text.substr(0, eq), value = text.substr(eq + 1);
  auto as_bool = [&]() -> std::optional<ParamValue> {
    if (value == "true" || value == "1" || value == "yes" || value == "on") return true;
    if (value == "false" || value == "0" || value == "no" || value == "off") return false;
    return std::nullopt;
  };
  auto as_int = [&]() -> std::optional<ParamValue> {
    if (value.empty()) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(value.c_str(), &end, 10);
    if (*end != '\0' || errno != 0) return std::nullopt;
    return static_cast<std::int64_t>(v);
  };
  auto as_real = [&]() -> std::optional<ParamValue> {
    if (value.empty()) return std::nullopt;
    char* end = nullptr;
    const double v = std::strtod(value.c_str(), &end);
    if (*end != '\0') return std::nullopt;
    return v;
  };
  const ParamSpec* spec = schema.find(key);
  if (spec == nullptr) {  // guess: the check reports the unknown key anyway
    if (auto v = as_int()) return {key, *v};
    if (auto v = as_real()) return {key, *v};
    if (auto v = as_bool()) return {key, *v};
    return {key, value};
  }
  std::optional<ParamValue> v;
  switch (spec->type) {
    case ParamType::boolean: v = as_bool(); break;
    case ParamType::integer: v = as_int(); break;
    case ParamType::real: v = as_real(); break;
    case ParamType::string: v = value; break;
  }
  if (!v) {
    throw UsageError(fmt::format("setting '{}': '{}' is not a {} value", key, value, to_string(spec->type)));
  }
  return {key, *v};
}

Hyperparams::Hyperparams(const Schema& schema, const Settings& settings, const std::string& owner)
    : owner_(owner) {
  for (const auto& [key, value] : settings) {
    const ParamSpec* spec = schema.find(key);
    if (spec == nullptr) {
      std::vector<std::string> names;
      std::string list;
      for (const auto& s : schema.specs()) {
        names.push_back(s.name);
        list += (list.empty() ? "" : ", ") + s.name;
      }
      throw UsageError(fmt::format("{}: unknown hyperparameter '{}'{}; it takes: {}", owner, key,
                                   did_you_mean(key, names), list.empty() ? "none" : list));
    }
    auto v = convert(value, spec->type);
    if (!v) {
      throw UsageError(fmt::format("{}: '{}' must be a {}, got the {} {}", owner, key,
                                   symgrad::to_string(spec->type), symgrad::to_string(type_of(value)),
                                   symgrad::to_string(value)));
    }
    if (!spec->allows(*v)) {
      const auto* x = std::get_if<double>(&*v);
      const std::string range = spec->range_text();
      throw UsageError(fmt::format("{}: '{}' = {} is out of range: allowed {}{}", owner, key, symgrad::to_string(*v),
                                   x != nullptr && !std::isfinite(*x) ? "a finite number" : "",
                                   x != nullptr && !std::isfinite(*x) && !range.empty() ? ", " + range : range));
    }
    values_[key] = *v;
  }
  for (const auto& s : schema.specs()) {
    order_.push_back(s.name);
    values_.try_emplace(s.name, s.default_value);
  }
}

const ParamValue& Hyperparams::at(const std::string& name, ParamType want) const {
  auto it = values_.find(name);
  if (it == values_.end()) {
    throw UsageError(fmt::format("{}: asked for undeclared hyperparameter '{}'", owner_, name));
  }
  if (type_of(it->second) != want) {
    throw UsageError(fmt::format("{}: hyperparameter '{}' is a {}, read as a {}", owner_, name,
                                 symgrad::to_string(type_of(it->second)), symgrad::to_string(want)));
  }
  return it->second;
}

double Hyperparams::real(const std::string& name) const { return std::get<double>(at(name, ParamType::real)); }
std::int64_t Hyperparams::integer(const std::string& name) const {
  return std::get<std::int64_t>(at(name, ParamType::integer));
}
bool Hyperparams::boolean(const std::string& name) const { return std::get<bool>(at(name, ParamType::boolean)); }
const std::string& Hyperparams::string(const std::string& name) const {
  return std::get<std::string>(at(name, ParamType::string));
}

std::string Hyperparams::to_string() const {
  std::string s;
  for (const auto& n : order_) s += fmt::format("{}{}={}", s.empty() ? "" : ", ", n, symgrad::to_string(values_.at(n)));
  return s;
}

}  // namespace symgrad
