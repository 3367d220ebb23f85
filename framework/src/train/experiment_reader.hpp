#pragma once
// Reading experiment files (TOML): where a node was written, typed keys of a table with errors that
// name the file, the line and the key, and plugin component tables. Shared by experiment.cpp (the
// experiment) and experiment_model.cpp (its [model] and [[loss]] tables). Internal to
// framework/src/train.

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/names.hpp"
#include "symgrad/train/experiment.hpp"

namespace symgrad::experiment_detail {

// Where a node was written: "file:line", or "file (--set)" for an override.
std::string where(const std::string& file, const toml::node& n);

class Reader {
 public:
  Reader(std::string file, const toml::table& t, std::string section, const std::string& at)
      : file_(std::move(file)), t_(t), section_(std::move(section)), at_(at) {}

  // Every key must be one of `allowed`.
  void only(const std::vector<std::string>& allowed) const {
    for (const auto& [k, v] : t_) {
      const std::string key(k.str());
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw UsageError(fmt::format("{}: unknown key '{}'{}{}; it takes: {}", where(file_, v), key,
                                   section_.empty() ? "" : " in [" + section_ + "]", did_you_mean(key, allowed), list));
    }
  }
  template <class T>
  void get(const char* key, T& out, const char* what) const {
    const toml::node* n = t_.get(key);
    if (n == nullptr) return;
    if constexpr (std::is_same_v<T, double>) {
      if (auto v = n->value<double>()) return void(out = *v);
    } else if constexpr (std::is_same_v<T, bool>) {
      if (n->is_boolean()) return void(out = n->as_boolean()->get());
    } else if constexpr (std::is_integral_v<T>) {
      if (n->is_integer()) return void(out = static_cast<T>(n->as_integer()->get()));
    } else {
      if (auto v = n->value<std::string>()) return void(out = *v);
    }
    throw UsageError(fmt::format("{}: '{}'{} must be {}", where(file_, *n), key,
                                 section_.empty() ? "" : " in [" + section_ + "]", what));
  }
  void positive(const char* key, std::int64_t v, std::int64_t min) const {
    if (v < min) {
      const toml::node* n = t_.get(key);
      throw UsageError(fmt::format("{}: '{}' = {} is out of range: allowed >= {}", n ? where(file_, *n) : at_, key, v, min));
    }
  }
  const toml::table& table() const { return t_; }

 private:
  std::string file_;
  const toml::table& t_;
  std::string section_, at_;
};


// A component table: `name` and its settings, checked against its schema (`schema_of` the name's).
ComponentSpec component(const std::string& file, const toml::table& t, const std::string& section,
                        const std::string& default_name, const std::function<Schema(const std::string&)>& schema_of);

/// Makes [data]'s relative file paths absolute against `base` (the experiment file's folder for
/// the file's keys, the current folder for --set overrides); true when one was relative.
bool resolve_data_paths(toml::table& root, const std::filesystem::path& base);

/// The [data] table of an experiment file.
DataSpec read_data_spec(const std::string& path, const toml::table& data);

/// [model] (the list or the graph form) and the [[loss]] tables of an experiment file.
ModelSpec read_model_spec(const std::string& path, const toml::table& root);

}  // namespace symgrad::experiment_detail
