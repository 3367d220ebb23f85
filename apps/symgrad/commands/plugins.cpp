// symgrad plugins [--kind K] [--path DIR]... [NAME]: every plugin found on the search path (or
// the one named), its components, and their hyperparameters with defaults, ranges and docs.

#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "../command.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/graph/op_registry.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/runtime/kernel.hpp"
#include "symgrad/train/lr_schedule.hpp"

namespace symgrad::cli {

namespace po = boost::program_options;

namespace {

void print_settings(const Schema& schema) {
  for (const auto& s : schema.specs()) {
    const std::string range = s.range_text();
    fmt::print("      {:16} {:6} = {:<10} {}{}\n", s.name, to_string(s.type), to_string(s.default_value), s.doc,
               range.empty() ? "" : fmt::format("  (allowed: {})", range));
  }
}

void print_component(const ComponentInfo& c) {
  fmt::print("  {} {}: {}\n", to_string(c.kind), c.name, c.doc);
  if (c.kind == ComponentKind::op) {  // where it runs: its kernels, and whether its formula fuses into chains
    const OpDef* op = OpRegistry::global().find(c.name);
    const bool formula = op != nullptr && !op->formula.empty();
    std::string backends;
    for (const auto& b : KernelRegistry::global().backends(c.name)) backends += (backends.empty() ? "" : ", ") + b;
    fmt::print("      kernels: {}{}\n", backends.empty() ? "none" : backends,
               formula ? "; a formula of " + std::to_string(op->formula.size()) +
                             " steps: fuses into onednn's elementwise chains (runs as one where it has no onednn kernel)"
                       : "; no formula: runs alone on onednn (its own kernel, else the reference one)");
  }
  print_settings(c.schema);
}

// The learning-rate schedules: built into the framework (not plugins), listed as components are.
// `name`: only that one ("" all); false when there is none of that name.
bool print_schedules(const std::string& name) {
  bool any = false;
  for (const auto& n : lr_schedule_names()) {
    if (!name.empty() && name != n) continue;
    if (!any) fmt::print("schedules (built in: [schedule] name = \"...\" in an experiment, --schedule NAME:k=v in minimize)\n");
    any = true;
    fmt::print("  schedule {}: {}\n", n, lr_schedule_doc(n));
    print_settings(lr_schedule_schema(n));
  }
  return any;
}

}  // namespace

int plugins_command(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "manifest") {  // symgrad plugins manifest LIBRARY (symgrad_add_plugin runs it)
    if (args.size() != 2 || args[1].rfind("-", 0) == 0) {
      throw UsageError("usage: symgrad plugins manifest LIBRARY (the path of a built symgrad-NAME.so)");
    }
    const std::string path = args[1].find('/') == std::string::npos ? "./" + args[1] : args[1];
    fmt::print("{}\n", PluginRegistry::global().write_manifest(path));
    return kOk;
  }
  if (!args.empty() && args[0] == "check") {  // symgrad plugins check PLUGIN
    if (args.size() != 2 || args[1].rfind("-", 0) == 0) {
      throw UsageError("usage: symgrad plugins check PLUGIN (a path, or a name on the search path)");
    }
    return plugin_check_command(args[1]);
  }
  po::options_description opts(
      "usage: symgrad plugins [--kind K] [--path DIR]... [NAME]\n"
      "       symgrad plugins check PLUGIN\n"
      "       symgrad plugins manifest LIBRARY\n"
      "Lists every plugin found (search path: --path, SYMGRAD_PLUGIN_PATH, then the plugins beside\n"
      "the framework's library): its version, file, components and their hyperparameters.\n"
      "NAME shows one plugin, or the components of that name. 'check PLUGIN' loads a plugin (a path or a\n"
      "name) in a child process and exercises each of its components; a crash is reported with the signal\n"
      "and what the plugin was doing. 'manifest LIBRARY' writes the list of a built plugin's components\n"
      "beside it (symgrad_add_plugin does this), so that a command loads only the plugins it needs. Options");
  std::string kind_text;
  std::vector<std::string> paths;
  opts.add_options()("help,h", "this help")("kind", po::value(&kind_text), "only components of this kind: op, "
                                                                            "initializer, optimizer, regularizer, strategy, "
                                                                            "loss, schedule (built in)")(
      "path", po::value(&paths), "also search this folder (repeatable)");
  po::options_description hidden;
  std::string name;
  hidden.add_options()("name", po::value(&name));
  po::positional_options_description pos;
  pos.add("name", 1);
  po::variables_map vm;
  if (parse_arguments(args, opts, vm, &hidden, &pos)) return kOk;
  if (kind_text == "schedule") {
    if (!print_schedules(name)) throw UsageError(fmt::format("no schedule named '{}'", name));
    return kOk;
  }
  std::optional<ComponentKind> kind;
  if (!kind_text.empty()) {
    kind = parse_component_kind(kind_text);
    if (!kind) {
      throw UsageError(fmt::format("unknown kind '{}' (op, initializer, optimizer, regularizer, strategy, loss, schedule)",
                                   kind_text));
    }
  }
  auto& registry = PluginRegistry::global();
  int status = kOk;
  for (const auto& w : registry.search_warnings(paths)) fmt::print(stderr, "warning: {}\n", w);
  const auto files = registry.find_files(paths);
  for (const auto& f : files) {
    try {
      registry.load(f);
    } catch (const Error& e) {  // report it, list the others
      fmt::print(stderr, "error: {}\n", e.what());
      status = kFailed;
    }
  }
  std::size_t shown = 0;
  for (const PluginInfo* p : registry.plugins()) {
    std::vector<const ComponentInfo*> comps;
    for (const auto& [k, n] : p->components) {
      if (kind && k != *kind) continue;
      if (!name.empty() && name != p->name && name != n) continue;
      comps.push_back(registry.find(k, n));
    }
    if (comps.empty() && (kind || !name.empty())) continue;
    ++shown;
    fmt::print("{} {}  ({})\n", p->name, p->version, p->file);
    for (const auto* c : comps) print_component(*c);
  }
  if (!kind && print_schedules(name)) ++shown;  // (a name may be a schedule's)
  if (shown == 0) {
    std::string looked;
    for (const auto& d : registry.search_path(paths)) looked += fmt::format("\n  {}", d);
    if (!name.empty()) {
      fmt::print(stderr, "no plugin or component named '{}'{} found in:{}\n", name,
                 kind ? fmt::format(" of kind {}", to_string(*kind)) : "", looked);
      return kFailed;
    }
    fmt::print("no plugins{} found in:{}\n", kind ? fmt::format(" with a component of kind {}", to_string(*kind)) : "",
               looked);
  }
  return status;
}

}  // namespace symgrad::cli
