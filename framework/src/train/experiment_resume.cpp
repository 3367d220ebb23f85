// What a resumed run may change (docs/experiments.md, "Resuming"): the experiment the run was
// started with against the one it is resumed with, key by key.

#include <map>
#include <sstream>

#include <fmt/format.h>

#include "experiment_reader.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/train/experiment.hpp"

namespace symgrad {

namespace {

// Every value of a TOML document by its full key: "optimizer.lr", "model.layers[2].units".
void flatten(const toml::node& n, const std::string& key, std::map<std::string, std::string>& out) {
  if (const toml::table* t = n.as_table()) {
    if (t->empty()) out[key] = "{}";
    for (const auto& [k, v] : *t) flatten(v, key.empty() ? std::string(k.str()) : key + "." + std::string(k.str()), out);
  } else if (const toml::array* a = n.as_array()) {
    if (a->empty()) out[key] = "[]";
    for (std::size_t i = 0; i < a->size(); ++i) flatten(*a->get(i), fmt::format("{}[{}]", key, i), out);
  } else if (const auto* d = n.as_floating_point()) {
    out[key] = fmt::format("{}", d->get());  // the shortest text that reads back as the value
  } else {
    std::ostringstream s;
    n.visit([&](const auto& value) { s << value; });
    out[key] = s.str();
  }
}

std::map<std::string, std::string> settings_of(const std::string& text, const std::string& file) {
  try {
    std::map<std::string, std::string> out;
    flatten(toml::parse(text, file), "", out);
    return out;
  } catch (const toml::parse_error& e) {
    throw UsageError(fmt::format("{}:{}:{}: {}", file, e.source().begin.line, e.source().begin.column, e.description()));
  }
}

bool may_change(const std::string& key) {
  static const char* const plain[] = {"epochs", "clip_norm", "clip_value", "nan_policy", "checkpoint_seconds",
                                      "bucket_cap_mb", "name"};
  for (const char* k : plain) {
    if (key == k) return true;
  }
  const auto under = [&](const std::string& table) { return key.rfind(table + ".", 0) == 0 || key == table; };
  return (under("optimizer") && key != "optimizer.name" && key != "optimizer") || under("schedule");
}

std::string shown(const std::map<std::string, std::string>& m, const std::string& key) {
  const auto it = m.find(key);
  if (it == m.end()) return "(not set)";
  return it->second.size() > 60 ? it->second.substr(0, 57) + "..." : it->second;
}

}  // namespace

std::vector<SettingChange> resume_changes(const std::string& recorded, const std::string& recorded_file,
                                          const Experiment& now) {
  const auto before = settings_of(recorded, recorded_file), after = settings_of(now.effective, now.file);
  std::map<std::string, bool> keys;
  for (const auto& [k, v] : before) keys[k] = true;
  for (const auto& [k, v] : after) keys[k] = true;
  std::vector<SettingChange> changes;
  std::string refused;
  std::size_t listed = 0, unlisted = 0;
  for (const auto& [key, unused] : keys) {
    const auto b = before.find(key), a = after.find(key);
    if (key == "output" || (b != before.end() && a != after.end() && b->second == a->second)) continue;
    const SettingChange c{key, shown(before, key), shown(after, key)};
    if (may_change(key)) {
      changes.push_back(c);
    } else if (listed < 8) {
      refused += fmt::format("{}{} ({} -> {})", refused.empty() ? "" : ", ", c.key, c.before, c.after);
      ++listed;
    } else {
      ++unlisted;
    }
  }
  if (unlisted > 0) refused += fmt::format(" and {} more", unlisted);
  if (!refused.empty()) {
    throw UsageError(fmt::format(
        "cannot resume the run of '{}' with settings that define another run: {}. A resumed run may change "
        "epochs, the optimizer's hyperparameters (lr, ...), the schedule, clip_norm, clip_value, nan_policy, "
        "checkpoint_seconds, bucket_cap_mb and name; train a new run for the others (docs/experiments.md, "
        "\"Resuming\")",
        recorded_file, refused));
  }
  return changes;
}

}  // namespace symgrad
