#pragma once
/// @file
/// Hyperparameter schemas: every plugin component (initializer, optimizer, regularizer, strategy)
/// declares the settings it takes, with type, default, allowed range or choices and one line of
/// doc. User settings (from C++, `--set key=value`, or an experiment file) are checked against
/// the schema before the component is made: an unknown key (with the nearest suggestion), a wrong
/// type or an out-of-range value is a UsageError that names the component and the key.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace symgrad {

/// A hyperparameter's value: a flag, an integer, a real number or a string.
using ParamValue = std::variant<bool, std::int64_t, double, std::string>;

enum class ParamType { boolean, integer, real, string };

/// "bool", "int", "float", "string".
const char* to_string(ParamType t);

/// The declaration of one hyperparameter.
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::real;
  ParamValue default_value;
  std::string doc;  ///< one line
  /// Numeric range: [min, max], each end open when its flag says so; absent: unbounded.
  std::optional<double> min, max;
  bool min_open = false, max_open = false;
  std::vector<std::string> choices;  ///< strings only: the allowed values (empty: any)

  /// Ranges, chained on a builder: real_param("lr", 1e-3, "...").greater_than(0).
  ParamSpec& at_least(double v) { return min = v, min_open = false, *this; }
  ParamSpec& greater_than(double v) { return min = v, min_open = true, *this; }
  ParamSpec& at_most(double v) { return max = v, max_open = false, *this; }
  ParamSpec& less_than(double v) { return max = v, max_open = true, *this; }

  /// "[0, 1)", ">= 0", "one of: a, b", or "" when anything of the type goes.
  std::string range_text() const;
  /// True when `v` (of this spec's type) is inside the range and choices.
  bool allows(const ParamValue& v) const;
};

/// Builders for the common declarations.
ParamSpec real_param(std::string name, double default_value, std::string doc);
ParamSpec int_param(std::string name, std::int64_t default_value, std::string doc);
ParamSpec bool_param(std::string name, bool default_value, std::string doc);
ParamSpec string_param(std::string name, std::string default_value, std::string doc);
ParamSpec choice_param(std::string name, std::string default_value, std::vector<std::string> choices,
                       std::string doc);

/// The hyperparameters of a component, in declaration order.
class Schema {
 public:
  Schema() = default;
  Schema(std::initializer_list<ParamSpec> specs);

  Schema& add(ParamSpec spec);
  const std::vector<ParamSpec>& specs() const { return specs_; }
  const ParamSpec* find(const std::string& name) const;
  bool empty() const { return specs_.empty(); }

  /// Checks the schema itself (unique names, defaults of the declared type and inside the range,
  /// a default among the choices); throws UsageError naming `owner`.
  void validate(const std::string& owner) const;

 private:
  std::vector<ParamSpec> specs_;
};

/// Settings a user gives: name -> value (typed), as yet unchecked.
using Settings = std::map<std::string, ParamValue>;

/// Parses "key=value" for `--set`: the value's type is the declared one of `schema` when the
/// key is known (true/false, integers, reals, strings), guessed otherwise (so that the check
/// reports the unknown key).
std::pair<std::string, ParamValue> parse_setting(const std::string& text, const Schema& schema);

/// Checked settings with every default filled in.
class Hyperparams {
 public:
  Hyperparams() = default;
  /// Checks `settings` against `schema` (see the file comment); `owner` names the component in
  /// errors, e.g. "optimizer 'sgd'".
  Hyperparams(const Schema& schema, const Settings& settings, const std::string& owner);

  double real(const std::string& name) const;
  std::int64_t integer(const std::string& name) const;
  bool boolean(const std::string& name) const;
  const std::string& string(const std::string& name) const;
  const std::map<std::string, ParamValue>& values() const { return values_; }
  /// "lr=0.01, momentum=0.9" in declaration order.
  std::string to_string() const;

 private:
  const ParamValue& at(const std::string& name, ParamType want) const;
  std::map<std::string, ParamValue> values_;
  std::vector<std::string> order_;
  std::string owner_;
};

/// A value as the command line would write it: 0.001, true, "text".
std::string to_string(const ParamValue& v);

}  // namespace symgrad
