#include "symgrad/train/experiment.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/names.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/lr_schedule.hpp"
#include "experiment_reader.hpp"

namespace symgrad {

namespace experiment_detail {

std::string where(const std::string& file, const toml::node& n) {
  const auto& s = n.source();
  return s.begin.line > 0 ? fmt::format("{}:{}", file, s.begin.line) : fmt::format("{} (--set)", file);
}

ComponentSpec component(const std::string& file, const toml::table& t, const std::string& section,
                        const std::string& default_name, const std::function<Schema(const std::string&)>& schema_of) {
  ComponentSpec c{default_name, {}, fmt::format("{}:{}", file, t.source().begin.line)};
  if (const toml::node* n = t.get("name")) {
    auto v = n->value<std::string>();
    if (!v) throw UsageError(fmt::format("{}: 'name' in [{}] must be a string", where(file, *n), section));
    c.name = *v;
    c.where = where(file, *n);
  }
  for (const auto& [k, v] : t) {
    const std::string key(k.str());
    if (key == "name") continue;
    ParamValue value;
    if (v.is_boolean()) {
      value = v.as_boolean()->get();
    } else if (v.is_integer()) {
      value = static_cast<std::int64_t>(v.as_integer()->get());
    } else if (v.is_floating_point()) {
      value = v.as_floating_point()->get();
    } else if (v.is_string()) {
      value = v.as_string()->get();
    } else {
      throw UsageError(fmt::format("{}: '{}' in [{}] must be a number, a bool or a string", where(file, v), key, section));
    }
    c.settings[key] = value;
  }
  if (c.name.empty()) return c;
  // check the settings now: each at the line it was written on
  Schema schema;
  try {
    schema = schema_of(c.name);
  } catch (const PluginError& e) {
    throw UsageError(fmt::format("{}: {}", c.where, e.what()));
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("{}: {}", c.where, e.what()));
  }
  for (const auto& [key, value] : c.settings) {
    Hyperparams(schema, {{key, value}}, fmt::format("{}: {} '{}'", where(file, *t.get(key)), section, c.name));
  }
  return c;
}

}  // namespace experiment_detail

using experiment_detail::component;
using experiment_detail::Reader;
using experiment_detail::where;

namespace {

// The schema of a plugin component of `kind`.
std::function<Schema(const std::string&)> plugin_schema(ComponentKind kind) {
  return [kind](const std::string& name) { return PluginRegistry::global().get(kind, name).schema; };
}

// The key that names a table of the array `kind`: a [[loss]] by its output, the others by name.
const char* naming_key(const std::string& kind) { return kind == "loss" ? "output" : "name"; }

// The table of the array `kind` ([[strategy]], [[regularizer]], [[loss]]) named `name`, or nullptr.
toml::table* named_table(toml::table& root, const std::string& kind, const std::string& name) {
  toml::array* a = root.get_as<toml::array>(kind);
  if (a == nullptr) return nullptr;
  const char* key = naming_key(kind);
  toml::table* found = nullptr;
  for (auto& n : *a) {
    toml::table* t = n.as_table();
    if (t == nullptr || !t->get_as<std::string>(key) || t->get_as<std::string>(key)->get() != name) continue;
    if (found != nullptr) {  // --set would change one of them, and not say which
      throw UsageError(fmt::format("the experiment has two [[{}]] tables of {} '{}': --set cannot tell them apart "
                                   "(edit the file)",
                                   kind, key, name));
    }
    found = t;
  }
  return found;
}

// How deep an experiment file's keys, arrays and tables may nest (check_toml_depth, --set).
constexpr int kMaxTomlDepth = 64;

void apply_override(toml::table& root, const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) throw UsageError(fmt::format("--set '{}' is not key=value", text));
  const std::string path = text.substr(0, eq), value = text.substr(eq + 1);
  if (std::count(path.begin(), path.end(), '.') > kMaxTomlDepth) {
    throw UsageError(fmt::format("--set '{}...': the key has more than {} dotted parts", text.substr(0, 60), kMaxTomlDepth));
  }
  toml::table* t = &root;
  std::size_t start = 0;
  for (const std::string kind : {"optimizer", "initializer", "schedule"}) {
    if (path == kind) {  // optimizer=NAME: that component with its own defaults (the file's settings dropped)
      root.insert_or_assign(kind, toml::table{{"name", value}});
      return;
    }
  }
  for (const std::string kind : {"strategy", "regularizer", "loss"}) {
    if (path == kind && kind == "loss") throw UsageError(fmt::format("--set '{}': loss.OUTPUT.KEY=VALUE", text));
    if (path == kind) {  // strategy=NAME: only the table of that name (the file's, with its settings,
                         // or a new one); "none": no table
      toml::array tables;
      if (value != "none") {
        const toml::table* own = named_table(root, kind, value);
        tables.push_back(own != nullptr ? *own : toml::table{{"name", value}});
      }
      root.insert_or_assign(kind, std::move(tables));
      return;
    }
    if (path.rfind(kind + ".", 0) == 0) {  // strategy.NAME.key=value: a key of the table of that name
      // (loss.OUTPUT.key=value: of the [[loss]] on that output)
      const auto dot = path.find('.', kind.size() + 1);
      const std::string name = path.substr(kind.size() + 1, dot == std::string::npos ? std::string::npos : dot - kind.size() - 1);
      const std::string naming = kind == "loss" ? "OUTPUT" : "NAME";
      if (dot == std::string::npos) throw UsageError(fmt::format("--set '{}': {}.{}.KEY=VALUE", text, kind, naming));
      t = named_table(root, kind, name);
      if (t == nullptr && kind == "loss") {
        throw UsageError(fmt::format("--set '{}': the experiment has no [[loss]] on output '{}'", text, name));
      }
      if (t == nullptr) {
        throw UsageError(fmt::format("--set '{}': the experiment has no [[{}]] named '{}' (add one with --set {}={})",
                                     text, kind, name, kind, name));
      }
      start = dot + 1;
      break;
    }
  }
  for (auto dot = path.find('.', start); dot != std::string::npos; dot = path.find('.', start)) {
    const std::string part = path.substr(start, dot - start);
    if (!t->contains(part)) t->insert(part, toml::table{});
    t = t->get(part)->as_table();
    if (t == nullptr) throw UsageError(fmt::format("--set '{}': '{}' is not a table", text, part));
    start = dot + 1;
  }
  const std::string key = path.substr(start);
  if (!value.empty() && (value.front() == '[' || value.front() == '"' || value.front() == '\'')) {
    // a TOML array or quoted string: data.ignore=[0,"id"], data.separator=";"
    toml::table parsed;
    try {
      parsed = toml::parse("v = " + value);
    } catch (const toml::parse_error& e) {
      throw UsageError(fmt::format("--set '{}': the value is not TOML: {}", text, e.description()));
    }
    if (const toml::array* a = parsed["v"].as_array()) return void(t->insert_or_assign(key, *a));
    if (const auto v = parsed["v"].value<std::string>()) return void(t->insert_or_assign(key, *v));
    throw UsageError(fmt::format("--set '{}': a value in brackets or quotes is an array or a string", text));
  }
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(value.c_str(), &end, 10);
  if (!value.empty() && *end == '\0') {
    if (errno == ERANGE) throw UsageError(fmt::format("--set '{}': the integer does not fit in 64 bits", text));
    return void(t->insert_or_assign(key, static_cast<std::int64_t>(i)));
  }
  errno = 0;
  const double d = std::strtod(value.c_str(), &end);
  if (!value.empty() && *end == '\0') {
    if (errno == ERANGE && std::abs(d) > 1) throw UsageError(fmt::format("--set '{}': the number does not fit in a double", text));
    return void(t->insert_or_assign(key, d));
  }
  if (value == "true" || value == "false") return void(t->insert_or_assign(key, value == "true"));
  t->insert_or_assign(key, value);
}

}  // namespace

void add_layer(Sequential& m, const LayerSpec& l) {
  if (l.type == "dense") m.dense(l.units, l.activation);
  if (l.type == "activation") m.activation(l.activation);
  if (l.type == "dropout") m.dropout(l.p);
  if (l.type == "flatten") m.flatten();
  if (l.type == "conv2d") m.conv2d(l.filters, l.kernel, l.stride == 0 ? 1 : l.stride, l.padding, l.activation);
  if (l.type == "max_pool") m.max_pool(l.kernel, l.stride);
  if (l.type == "avg_pool") m.avg_pool(l.kernel, l.stride);
  if (l.type == "batch_norm") m.batch_norm(l.momentum, l.eps, l.sync);
}

namespace {

// The TOML library parses nested keys and values recursively: a header of 50,000 dotted parts (or
// as many nested arrays) overflows its stack. Refused first, naming the line, as --expr limits
// its nesting. Counted outside strings: dotted parts of a key, and open brackets and braces.

void check_toml_depth(const std::string& text, const std::string& path) {
  int depth = 0, braces = 0, dots = 0;
  bool key = true;  // in a key (a line's start, a header, an inline table's key) rather than a value
  std::size_t line = 1;
  char quote = 0;  // inside a "..." or '...' string (or a multi-line one: its quote char, tripled)
  bool triple = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') ++line;
    if (quote != 0) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote && (!triple || text.compare(i, 3, std::string(3, quote)) == 0)) {
        if (triple) i += 2;
        quote = 0;
      }
      continue;
    }
    if (c == '\n' && braces == 0 && depth == 0) key = true, dots = 0;
    if (c == '#') {
      while (i + 1 < text.size() && text[i + 1] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      quote = c;
      triple = text.compare(i, 3, std::string(3, c)) == 0;
      if (triple) i += 2;
    } else if (c == '[' || c == '{') {
      ++depth;
      if (c == '{') ++braces, key = true, dots = 0;
    } else if (c == ']' || c == '}') {
      --depth;
      if (c == '}') --braces;
    } else if (c == '=') {
      key = false;
    } else if (c == ',' && braces > 0) {
      key = true, dots = 0;
    } else if (c == '.' && key) {
      ++dots;
    }
    if (depth > kMaxTomlDepth || dots > kMaxTomlDepth) {
      throw UsageError(fmt::format("{}:{}: {} nest deeper than {} levels", path, line,
                                   dots > kMaxTomlDepth ? "the dotted parts of a key" : "the arrays and tables",
                                   kMaxTomlDepth));
    }
  }
}

// An experiment's name titles its plots (no control character: gnuplot cannot quote one) and,
// without an `output`, names its run folder runs/<name>: then it must be one folder's name, so
// that the run stays inside runs/ ("../../x" would write elsewhere).
void check_name(const std::string& name, const std::string& at, bool names_folder) {
  for (const char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      throw UsageError(fmt::format("{}: the name holds a control character (it titles the plots)", at));
    }
  }
  if (names_folder && (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos)) {
    throw UsageError(fmt::format("{}: the name '{}' cannot name the run folder runs/<name>: give a name without '/' "
                                 "that is not empty, '.' or '..', or set output = \"FOLDER\"",
                                 at, name.size() > 80 ? name.substr(0, 77) + "..." : name));
  }
}

}  // namespace

Experiment load_experiment(const std::string& path, const std::vector<std::string>& overrides) {
  toml::table root;
  if (!std::filesystem::is_regular_file(path)) {
    throw UsageError(fmt::format("cannot read the experiment file '{}': {}", path,
                                 std::filesystem::exists(path) ? "not a regular file" : "no such file"));
  }
  try {
    std::ifstream in(path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    check_toml_depth(text, path);
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw UsageError(fmt::format("{}:{}:{}: {}", path, e.source().begin.line, e.source().begin.column, e.description()));
  }
  // data files: the file's paths against its folder, those of --set against the current one; the
  // run's copy holds them absolute (a moved run folder still finds its data)
  const std::filesystem::path folder = std::filesystem::absolute(path).parent_path();
  const bool relative = experiment_detail::resolve_data_paths(root, folder);
  for (const auto& o : overrides) apply_override(root, o);
  experiment_detail::resolve_data_paths(root, std::filesystem::current_path());
  Experiment x;
  x.file = path;
  {
    std::ostringstream text;
    text << "# The experiment " << path << " as it ran";
    for (const auto& o : overrides) text << (&o == &overrides.front() ? ", with --set " : " ") << o;
    if (relative) text << "\n# (its data paths resolved against " << folder.string() << ")";
    text << "\n\n" << root << "\n";
    x.effective = text.str();
  }
  x.name = std::filesystem::path(path).stem().string();
  const Reader top(path, root, "", path);
  top.only({"name", "seed", "epochs", "batch_size", "backend", "precision", "output", "clip_norm", "clip_value", "checkpoint_seconds", "nan_policy", "bucket_cap_mb", "data", "model", "loss", "initializer",
            "optimizer", "schedule", "regularizer", "strategy"});
  top.get("name", x.name, "a string");
  std::int64_t seed = 0;
  top.get("seed", seed, "an integer");
  x.seed = static_cast<std::uint64_t>(seed);
  top.get("epochs", x.epochs, "an integer");
  top.positive("epochs", x.epochs, 0);
  top.get("batch_size", x.batch_size, "an integer");
  top.positive("batch_size", x.batch_size, 1);
  top.get("backend", x.backend, "a string (onednn or reference)");
  if (x.backend != "onednn" && x.backend != "reference") {
    throw UsageError(fmt::format("{}: backend '{}': onednn or reference", where(path, *root.get("backend")), x.backend));
  }
  top.get("precision", x.precision, "a string (f32 or bf16)");
  if (x.precision != "f32" && x.precision != "bf16") {
    throw UsageError(fmt::format("{}: precision '{}': f32 or bf16", where(path, *root.get("precision")), x.precision));
  }
  if (x.precision == "bf16" && x.backend != "onednn") {
    throw UsageError(fmt::format("{}: precision 'bf16' needs backend 'onednn' (the reference backend computes in full "
                                 "precision)", where(path, *root.get("precision"))));
  }
  top.get("clip_norm", x.clip_norm, "a number");
  top.get("clip_value", x.clip_value, "a number");
  top.get("checkpoint_seconds", x.checkpoint_seconds, "a number");
  if (x.checkpoint_seconds < 0) throw UsageError(fmt::format("{}: checkpoint_seconds must be >= 0", path));
  top.get("bucket_cap_mb", x.bucket_cap_mb, "a number");
  if (!(x.bucket_cap_mb > 0)) throw UsageError(fmt::format("{}: bucket_cap_mb must be > 0", path));
  top.get("nan_policy", x.nan_policy, "a string (raise, stop or skip_step)");
  if (x.nan_policy != "raise" && x.nan_policy != "stop" && x.nan_policy != "skip_step") {
    throw UsageError(fmt::format("{}: nan_policy '{}': raise, stop or skip_step", where(path, *root.get("nan_policy")),
                                 x.nan_policy));
  }
  if (x.clip_norm < 0 || x.clip_value < 0) {
    throw UsageError(fmt::format("{}: clip_norm and clip_value must be >= 0 (0: off)", path));
  }
  check_name(x.name, root.get("name") != nullptr ? where(path, *root.get("name")) : path, root.get("output") == nullptr);
  x.output = "runs/" + x.name;
  top.get("output", x.output, "a string");
  auto table = [&](const char* key) -> const toml::table* {
    const toml::node* n = root.get(key);
    if (n == nullptr) return nullptr;
    if (!n->is_table()) throw UsageError(fmt::format("{}: '{}' must be a table ([{}])", where(path, *n), key, key));
    return n->as_table();
  };
  if (const toml::table* d = table("data")) x.data = experiment_detail::read_data_spec(path, *d);
  x.model_spec = experiment_detail::read_model_spec(path, root);
  if (const toml::table* t = table("initializer")) {
    x.initializer = component(path, *t, "initializer", "he", plugin_schema(ComponentKind::initializer));
  }
  if (const toml::table* t = table("optimizer")) {
    x.optimizer = component(path, *t, "optimizer", "adam", plugin_schema(ComponentKind::optimizer));
  }
  if (const toml::table* t = table("schedule")) x.schedule = component(path, *t, "schedule", "constant", lr_schedule_schema);
  if (const toml::node* n = root.get("regularizer")) {
    const toml::array* a = n->as_array();
    if (a == nullptr) throw UsageError(fmt::format("{}: regularizers are [[regularizer]] tables", where(path, *n)));
    for (const auto& r : *a) {
      if (!r.is_table()) throw UsageError(fmt::format("{}: a regularizer is a table", where(path, r)));
      x.regularizers.push_back(
          component(path, *r.as_table(), "regularizer", "", plugin_schema(ComponentKind::regularizer)));
      if (x.regularizers.back().name.empty()) throw UsageError(fmt::format("{}: a regularizer needs a name", where(path, r)));
    }
  }
  if (const toml::node* n = root.get("strategy")) {
    const toml::array* a = n->as_array();
    if (a == nullptr) throw UsageError(fmt::format("{}: strategies are [[strategy]] tables", where(path, *n)));
    for (const auto& r : *a) {
      if (!r.is_table()) throw UsageError(fmt::format("{}: a strategy is a table", where(path, r)));
      x.strategies.push_back(component(path, *r.as_table(), "strategy", "", plugin_schema(ComponentKind::strategy)));
      if (x.strategies.back().name.empty()) throw UsageError(fmt::format("{}: a strategy needs a name", where(path, r)));
    }
  }
  return x;
}

ExperimentComponents make_components(const Experiment& x) {
  ExperimentComponents c;
  auto& registry = PluginRegistry::global();
  for (const auto& r : x.regularizers) c.regularizers.emplace_back(r.name, registry.make_regularizer(r.name, r.settings));
  for (const auto& s : x.strategies) c.strategies.emplace_back(s.name, registry.make_strategy(s.name, s.settings));
  return c;
}

void ExperimentComponents::attach(Trainer& trainer) const {
  for (const auto& [name, r] : regularizers) trainer.add(*r, name);
  for (const auto& [name, s] : strategies) trainer.add(*s, name);
}

std::map<std::string, std::string> Experiment::effective_settings() const {
  std::map<std::string, std::string> out;
  auto add = [&](const std::string& prefix, const ComponentSpec& c, const Schema& schema) {
    out[prefix + "name"] = c.name;
    const Hyperparams h(schema, c.settings, prefix + c.name);
    for (const auto& [k, v] : h.values()) out[prefix + k] = to_string(v);
  };
  add("optimizer.", optimizer, plugin_schema(ComponentKind::optimizer)(optimizer.name));
  add("initializer.", initializer, plugin_schema(ComponentKind::initializer)(initializer.name));
  if (!schedule.name.empty()) add("schedule.", schedule, lr_schedule_schema(schedule.name));
  for (const auto& r : regularizers) add("regularizer." + r.name + ".", r, plugin_schema(ComponentKind::regularizer)(r.name));
  for (const auto& st : strategies) add("strategy." + st.name + ".", st, plugin_schema(ComponentKind::strategy)(st.name));
  return out;
}

Model Experiment::model(const Dataset& train) const {
  return model_spec.build(train, backend == "onednn" ? DType::f32 : DType::f64);
}

TrainerOptions Experiment::trainer_options() const {
  TrainerOptions o;
  o.epochs = epochs;
  o.batch_size = batch_size;
  o.seed = seed;
  o.optimizer = optimizer.name;
  o.optimizer_settings = optimizer.settings;
  o.initializer = initializer.name;
  o.initializer_settings = initializer.settings;
  o.schedule = schedule.name == "constant" && schedule.settings.empty() ? "" : schedule.name;
  o.schedule_settings = schedule.settings;
  o.clip_norm = clip_norm;
  o.clip_value = clip_value;
  o.checkpoint_seconds = checkpoint_seconds;
  o.bucket_cap_mb = bucket_cap_mb;
  o.nan_policy = nan_policy == "stop"        ? TrainerOptions::NanPolicy::stop
                 : nan_policy == "skip_step" ? TrainerOptions::NanPolicy::skip_step
                                             : TrainerOptions::NanPolicy::raise;
  o.backend = backend;
  o.dtype = backend == "onednn" ? DType::f32 : DType::f64;
  o.precision = precision == "bf16" ? Precision::bf16 : Precision::f32;
  o.output_dir = output;
  return o;
}

}  // namespace symgrad
