#include "symgrad/plugin/registry.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#define BOOST_DLL_USE_STD_FS 1
#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <fmt/format.h>

#include "discovery.hpp"
#include "guards.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/core/names.hpp"
#include "symgrad/graph/op_registry.hpp"
#include "symgrad/io/atomic_file.hpp"
#include "symgrad/plugin/plugin.hpp"

namespace symgrad {

namespace fs = std::filesystem;
using plugin_detail::guarded;

namespace {

using plugin_detail::plugin_name_of;

std::string file_name_of(const std::string& plugin) { return "symgrad-" + plugin + ".so"; }

// "strategies", "optimizers", "losses"
std::string plural(ComponentKind kind) {
  const std::string k = to_string(kind);
  if (k.back() == 's') return k + "es";
  return k.back() == 'y' ? k.substr(0, k.size() - 1) + "ies" : k + "s";
}

// What changed for plugin authors after ABI version `from` (docs/writing-plugins.md, "Plugin ABI
// versions"): the loader's refusal of an older plugin says what to change before rebuilding.
std::string abi_changes(std::uint32_t from) {
  static const std::vector<std::pair<std::uint32_t, const char*>> changes = {
      {2, "OpDef::formula"},
      {3, "KernelContext::communicator, PullbackContext::partials; kernels added with PluginRegistrar::add_kernel"},
      {4, "PrepareContext::precision, KernelRegistry::allow_in_place"},
      {5, "Extension::penalty(const PenaltyContext&) replaces penalty(Graph&, params) (ctx.params, and the batch: "
          "inputs, targets, per-example losses); losses are a plugin kind (PluginRegistrar::add_loss); "
          "UpdateRule::begin_step and OptimizerContext::state for scalar optimizer state; StepContext::report and "
          "TrainEvent::report write metrics, TrainEvent::restored_epoch names the epoch put back; formula steps may be "
          "{\"constant\", {}, value}"},
  };
  std::string text;
  for (const auto& [version, what] : changes) {
    if (version > from && version <= SYMGRAD_PLUGIN_ABI_VERSION) text += fmt::format("\n  ABI {}: {}", version, what);
  }
  return text.empty() ? "" : "; what changed since:" + text;
}

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  });
}

std::string major_minor(const std::string& v) {
  const auto a = v.find('.');
  if (a == std::string::npos) return v;
  const auto b = v.find('.', a + 1);
  return v.substr(0, b);
}

// What dlopen's message says went wrong.
std::string classify_load_error(const std::string& message) {
  if (message.find("undefined symbol") != std::string::npos) return "it has an unresolved symbol";
  if (message.find("invalid ELF header") != std::string::npos || message.find("file too short") != std::string::npos ||
      message.find("not a dynamic") != std::string::npos || message.find("wrong ELF class") != std::string::npos ||
      message.find("only ET_DYN") != std::string::npos) {
    return "it is not a shared library";
  }
  return "the dynamic loader refused it";
}

}  // namespace

struct PluginRegistry::Impl {
  struct Entry {
    ComponentInfo info;
    StagedComponent made;  // the factories (ops live in the OpRegistry)
  };
  mutable std::recursive_mutex mutex;
  std::map<std::string, PluginInfo> by_file;          // canonical path -> plugin
  std::map<std::string, std::string> file_of_plugin;  // plugin name -> canonical path
  std::map<std::pair<ComponentKind, std::string>, Entry> components;
  // components two plugins register: what to say when one of them is asked for
  std::map<std::pair<ComponentKind, std::string>, std::string> clashes;
  std::optional<plugin_detail::Discovery> discovery;  // the search path's libraries, found once
  std::string broken;  // load_all(): the plugins that failed to load

  const plugin_detail::Discovery& discovered(const PluginRegistry& self) {
    if (!discovery) discovery = plugin_detail::discover(self.search_path());
    return *discovery;
  }

  std::string who(const Entry& e) const {
    return fmt::format("{} '{}' of plugin '{}' ({})", to_string(e.info.kind), e.info.name, e.info.plugin, e.info.file);
  }
  const Entry& entry(PluginRegistry& self, ComponentKind kind, const std::string& name) {
    self.get(kind, name);
    return components.at({kind, name});
  }
  const PluginInfo& load_file(const fs::path& file);
  void check_and_commit(const PluginDescriptor& d, const fs::path& file, PluginRegistrar& staged);
};

PluginRegistry& PluginRegistry::global() {
  static auto* registry = new PluginRegistry();  // never destroyed: plugin code stays loaded
  return *registry;
}

PluginRegistry::PluginRegistry() : impl_(std::make_unique<Impl>()) {}
PluginRegistry::~PluginRegistry() = default;

std::vector<std::string> PluginRegistry::search_path(const std::vector<std::string>& extra) const {
  std::vector<std::string> dirs(extra.begin(), extra.end());
  if (const char* env = std::getenv("SYMGRAD_PLUGIN_PATH")) {
    std::string s = env;
    std::size_t start = 0;
    while (start <= s.size()) {
      const auto end = s.find(':', start);
      const std::string d = s.substr(start, end == std::string::npos ? std::string::npos : end - start);
      if (!d.empty()) dirs.push_back(d);
      if (end == std::string::npos) break;
      start = end + 1;
    }
  }
  // beside the framework's own library: build/lib or <prefix>/lib
  dirs.push_back((boost::dll::this_line_location().parent_path() / "symgrad" / "plugins").string());
  return dirs;
}

std::vector<std::string> PluginRegistry::find_files(const std::vector<std::string>& extra) const {
  std::vector<std::string> files;
  for (const auto& c : plugin_detail::discover(search_path(extra)).candidates) files.push_back(c.file.string());
  return files;
}

std::vector<std::string> PluginRegistry::search_warnings(const std::vector<std::string>& extra) const {
  return plugin_detail::discover(search_path(extra)).warnings;
}

std::string PluginRegistry::write_manifest(const std::string& path) {
  std::lock_guard lock(impl_->mutex);
  std::error_code ec;
  const fs::path file = fs::canonical(path, ec);
  if (ec) throw PluginError(fmt::format("plugin file '{}': {}", path, ec.message()));
  const fs::path manifest = plugin_detail::manifest_path(file);
  fs::remove(manifest, ec);  // an old one is not checked against what it replaces
  write_file_atomically(manifest.string(), plugin_detail::manifest_text(impl_->load_file(file)));
  return manifest.string();
}

std::string PluginRegistry::load_all() {
  std::lock_guard lock(impl_->mutex);
  for (const auto& c : impl_->discovered(*this).candidates) {
    try {
      impl_->load_file(c.file);
    } catch (const PluginError& e) {
      impl_->broken += fmt::format("\n  {}", e.what());
    }
  }
  return impl_->broken;
}

const PluginInfo& PluginRegistry::load(const std::string& name_or_path, const std::vector<std::string>& extra_dirs) {
  std::lock_guard lock(impl_->mutex);
  if (name_or_path.find('/') != std::string::npos) {  // a path
    std::error_code ec;
    const fs::path file = fs::canonical(name_or_path, ec);
    if (ec) throw PluginError(fmt::format("plugin file '{}': {}", name_or_path, ec.message()));
    return impl_->load_file(file);
  }
  if (name_or_path.ends_with(".so")) {
    throw PluginError(fmt::format("'{}' is not a plugin name: give the plugin's name ('{}' for {}) or a path ('./{}')",
                                  name_or_path, plugin_name_of(name_or_path).empty() ? "NAME" : plugin_name_of(name_or_path),
                                  plugin_name_of(name_or_path).empty() ? "symgrad-NAME.so" : name_or_path, name_or_path));
  }
  if (!valid_name(name_or_path)) throw PluginError(fmt::format("'{}' is not a plugin name", name_or_path));
  const plugin_detail::Discovery found =
      extra_dirs.empty() ? impl_->discovered(*this) : plugin_detail::discover(search_path(extra_dirs));
  std::vector<fs::path> files;
  for (const auto& c : found.candidates) {
    if (c.plugin == name_or_path) files.push_back(c.file);
  }
  if (files.size() > 1) {
    throw PluginError(fmt::format("plugin '{}' is in two files, '{}' and '{}': remove one from the search path",
                                  name_or_path, files[0].string(), files[1].string()));
  }
  if (files.empty()) {
    std::vector<std::string> names;
    std::string available, looked;
    for (const auto& c : found.candidates) {
      names.push_back(c.plugin);
      available += (available.empty() ? "" : ", ") + c.plugin;
    }
    for (const auto& d : search_path(extra_dirs)) looked += fmt::format("\n  {}", d);
    for (const auto& w : found.warnings) looked += fmt::format("\n  ({})", w);
    throw PluginError(fmt::format("no plugin named '{}'{}: looked for {} in:{}\navailable: {}", name_or_path,
                                  did_you_mean(name_or_path, names), file_name_of(name_or_path), looked,
                                  available.empty() ? "none" : available));
  }
  return impl_->load_file(files.front());
}

const PluginInfo& PluginRegistry::Impl::load_file(const fs::path& file) {
  if (auto it = by_file.find(file.string()); it != by_file.end()) return it->second;  // loaded before
  // Never unloaded (no component may outlive its code): the library objects live in a list that is
  // never destroyed (reachable to the end, so not a leak to LeakSanitizer either).
  static auto* const libraries = new std::vector<std::unique_ptr<boost::dll::shared_library>>();
  boost::dll::shared_library* lib = nullptr;
  try {
    lib = libraries->emplace_back(std::make_unique<boost::dll::shared_library>(
                                      file, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local))
              .get();
  } catch (const std::exception& e) {
    const std::string message = e.what();
    throw PluginError(fmt::format("cannot load plugin file '{}': {} ({})", file.string(), classify_load_error(message),
                                  message));
  }
  if (!lib->has(SYMGRAD_PLUGIN_ENTRY_NAME)) {
    throw PluginError(fmt::format("'{}' is not a symgrad plugin: it exports no '{}' (made by the SYMGRAD_PLUGIN "
                                  "macro of <symgrad/plugin/plugin.hpp>)",
                                  file.string(), SYMGRAD_PLUGIN_ENTRY_NAME));
  }
  auto& entry = lib->get<const PluginDescriptor*()>(SYMGRAD_PLUGIN_ENTRY_NAME);
  const PluginDescriptor* d = guarded(fmt::format("plugin file '{}'", file.string()), "returning its descriptor",
                                      [&] { return entry(); });
  if (d == nullptr) throw PluginError(fmt::format("plugin file '{}' returned no descriptor", file.string()));
  if (d->abi_version != SYMGRAD_PLUGIN_ABI_VERSION) {
    throw PluginError(fmt::format("plugin file '{}' was built for plugin ABI version {}, this symgrad has version {}: "
                                  "rebuild it against this SDK{}",
                                  file.string(), d->abi_version, SYMGRAD_PLUGIN_ABI_VERSION,
                                  abi_changes(d->abi_version)));
  }
  const std::string fw = d->framework_version ? d->framework_version : "", tc = d->toolchain ? d->toolchain : "";
  if (major_minor(fw) != major_minor(SYMGRAD_VERSION)) {
    throw PluginError(fmt::format("plugin file '{}' was built against symgrad {}, this is symgrad {}: rebuild it",
                                  file.string(), fw, SYMGRAD_VERSION));
  }
  if (tc != SYMGRAD_TOOLCHAIN) {
    throw PluginError(fmt::format("plugin file '{}' was built with another toolchain:\n  plugin: {}\n  host:   {}\n"
                                  "C++ types cross the plugin boundary: rebuild it with the host's toolchain",
                                  file.string(), tc, SYMGRAD_TOOLCHAIN));
  }
  const std::string name = d->name ? d->name : "";
  if (!valid_name(name)) {
    throw PluginError(fmt::format("plugin file '{}' has an invalid name '{}' (letters, digits, _ . -)", file.string(), name));
  }
  if (name != plugin_name_of(file)) {
    throw PluginError(fmt::format("plugin file '{}' holds plugin '{}': a plugin's file must be {} (symgrad finds a plugin "
                                  "by its file's name; a copy under another name is refused)",
                                  file.string(), name, file_name_of(name)));
  }
  if (auto it = file_of_plugin.find(name); it != file_of_plugin.end()) {
    throw PluginError(fmt::format("plugin '{}' from '{}' is already loaded from '{}'", name, file.string(), it->second));
  }
  if (d->register_components == nullptr) {
    throw PluginError(fmt::format("plugin '{}' ({}) has no registration function", name, file.string()));
  }
  PluginRegistrar staged;
  try {
    d->register_components(staged);
  } catch (const std::exception& e) {
    throw PluginError(fmt::format("plugin '{}' ({}) threw during registration: {}; nothing of it was registered", name,
                                  file.string(), e.what()));
  } catch (...) {
    throw PluginError(fmt::format("plugin '{}' ({}) threw during registration; nothing of it was registered", name,
                                  file.string()));
  }
  if (const auto manifest = plugin_detail::read_manifest(file)) {  // what discovery read must be what it registers
    std::vector<std::pair<ComponentKind, std::string>> listed = manifest->components, registered;
    for (const auto& c : staged.staged()) registered.emplace_back(c.kind, c.name);
    std::sort(listed.begin(), listed.end());
    std::sort(registered.begin(), registered.end());
    if (listed != registered) {
      throw PluginError(fmt::format("plugin '{}' ({}) registers other components than its manifest {} lists (a stale "
                                    "manifest: rebuild the plugin, or write it again with `symgrad plugins manifest {}`)",
                                    name, file.string(), plugin_detail::manifest_path(file).string(), file.string()));
    }
  }
  check_and_commit(*d, file, staged);
  return by_file.at(file.string());
}

void PluginRegistry::Impl::check_and_commit(const PluginDescriptor& d, const fs::path& file, PluginRegistrar& staged) {
  const std::string name = d.name;
  auto fail = [&](const std::string& what) {
    throw PluginError(fmt::format("plugin '{}' ({}): {}; nothing of it was registered", name, file.string(), what));
  };
  std::set<std::pair<ComponentKind, std::string>> seen;
  for (const auto& c : staged.staged()) {
    const std::string label = fmt::format("{} '{}'", to_string(c.kind), c.name);
    if (!valid_name(c.name)) fail(fmt::format("{} has an invalid name", label));
    if (!seen.insert({c.kind, c.name}).second) fail(fmt::format("{} is registered twice", label));
    if (auto it = components.find({c.kind, c.name}); it != components.end()) {
      clashes[{c.kind, c.name}] =
          fmt::format("{} is registered by two plugins: '{}' ({}) and '{}' ({}); remove one of them from the search path",
                      label, it->second.info.plugin, it->second.info.file, name, file.string());
      fail(fmt::format("{} is already registered by plugin '{}' ({})", label, it->second.info.plugin, it->second.info.file));
    }
    try {
      c.schema.validate(label);
    } catch (const Error& e) {
      fail(e.what());
    }
    switch (c.kind) {
      case ComponentKind::op:
        if (OpRegistry::global().find(c.name) != nullptr) fail(fmt::format("{} is already a built-in op", label));
        if (!c.op.infer) fail(fmt::format("{} has no type inference", label));
        if (!c.op.samples) fail(fmt::format("{} has no samples (the gradient checks need them)", label));
        if (!c.kernels.kernels.count("reference")) fail(fmt::format("{} has no reference kernel", label));
        if (!c.op.pullback) fail(fmt::format("{} has no pullback", label));
        break;
      case ComponentKind::initializer:
        if (!c.make_initializer) fail(fmt::format("{} has no factory", label));
        break;
      case ComponentKind::optimizer: {
        if (!c.make_update_rule && !c.make_host_optimizer) fail(fmt::format("{} has no factory", label));
        const ParamSpec* lr = c.schema.find("lr");
        if (c.make_update_rule && (lr == nullptr || lr->type != ParamType::real)) {
          fail(fmt::format("{} has no real hyperparameter 'lr' (the framework reads the learning rate from it)", label));
        }
        break;
      }
      case ComponentKind::regularizer:
        if (!c.make_regularizer) fail(fmt::format("{} has no factory", label));
        break;
      case ComponentKind::strategy:
        if (!c.make_strategy) fail(fmt::format("{} has no factory", label));
        break;
      case ComponentKind::loss:
        if (!c.make_loss) fail(fmt::format("{} has no factory", label));
        break;
    }
  }
  // Commit: nothing below can fail on a checked plugin.
  PluginInfo info{name, d.version ? d.version : "", file.string(), {}};
  for (const auto& c : staged.staged()) {
    Entry e{ComponentInfo{c.kind, c.name, c.doc, c.schema, name, file.string(), bool(c.make_host_optimizer)}, c};
    if (c.kind == ComponentKind::op) {
      OpDef op = c.op;
      StagedKernels kernels = c.kernels;
      plugin_detail::guard_op(op, kernels, who(e));
      OpRegistry::global().add(std::move(op));
      KernelRegistry& registry = KernelRegistry::global();
      for (auto& [backend, k] : kernels.kernels) registry.add_kernel(c.name, backend, std::move(k));
      for (auto& [backend, f] : kernels.factories) {
        auto l = kernels.layout_inputs.find(backend);
        registry.add_factory(c.name, backend, std::move(f), l == kernels.layout_inputs.end() ? std::set<int>{} : l->second);
      }
      e.made.op = OpDef{};
      e.made.kernels = StagedKernels{};
    }
    info.components.emplace_back(c.kind, c.name);
    components.emplace(std::pair{c.kind, c.name}, std::move(e));
  }
  file_of_plugin[name] = file.string();
  by_file.emplace(file.string(), std::move(info));
}

std::vector<const PluginInfo*> PluginRegistry::plugins() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<const PluginInfo*> out;
  for (const auto& [f, p] : impl_->by_file) out.push_back(&p);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->name < b->name; });
  return out;
}

std::vector<const ComponentInfo*> PluginRegistry::components(std::optional<ComponentKind> kind) const {
  std::lock_guard lock(impl_->mutex);
  std::vector<const ComponentInfo*> out;
  for (const auto& [k, e] : impl_->components) {
    if (!kind || k.first == *kind) out.push_back(&e.info);
  }
  return out;
}

const ComponentInfo* PluginRegistry::find(ComponentKind kind, const std::string& name) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->components.find({kind, name});
  return it == impl_->components.end() ? nullptr : &it->second.info;
}

const ComponentInfo& PluginRegistry::get(ComponentKind kind, const std::string& name) {
  std::lock_guard lock(impl_->mutex);
  if (auto it = impl_->clashes.find({kind, name}); it != impl_->clashes.end()) throw PluginError(it->second);
  if (const ComponentInfo* c = find(kind, name)) return *c;
  // Only the plugin that provides it (its manifest says so; a plugin without one, by its name):
  // a command loads the plugins it needs, and a name two plugins provide is an error wherever it
  // is asked for, not a choice made by the order of the search path.
  const plugin_detail::Discovery& found = impl_->discovered(*this);
  const std::pair<ComponentKind, std::string> wanted{kind, name};
  std::vector<const plugin_detail::Candidate*> providers;
  for (const auto& c : found.candidates) {
    const bool provides = c.manifest ? std::find(c.manifest->components.begin(), c.manifest->components.end(), wanted) !=
                                           c.manifest->components.end()
                                     : c.plugin == name;
    if (provides) providers.push_back(&c);
  }
  const std::string label = fmt::format("{} '{}'", to_string(kind), name);
  if (providers.size() > 1) {
    const std::string message = fmt::format(
        "{} is registered by two plugins: '{}' ({}) and '{}' ({}); remove one of them from the search path", label,
        providers[0]->plugin, providers[0]->file.string(), providers[1]->plugin, providers[1]->file.string());
    impl_->clashes[wanted] = message;
    throw PluginError(message);
  }
  if (providers.size() == 1) impl_->load_file(providers.front()->file);  // a failure names the file
  if (auto it = impl_->clashes.find(wanted); it != impl_->clashes.end()) throw PluginError(it->second);
  if (const ComponentInfo* c = find(kind, name)) return *c;
  std::vector<std::string> names;
  std::string unindexed;
  for (const auto* c : components(kind)) names.push_back(c->name);
  for (const auto& c : found.candidates) {
    if (!c.manifest) unindexed += fmt::format("\n  {} (no manifest: loaded only by its name)", c.file.string());
    for (std::size_t i = 0; c.manifest && i < c.manifest->components.size(); ++i) {
      if (c.manifest->components[i].first == kind) names.push_back(c.manifest->components[i].second);
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string list, looked;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  for (const auto& d : search_path()) looked += fmt::format("\n  {}", d);
  for (const auto& w : found.warnings) looked += fmt::format("\n  ({})", w);
  throw UsageError(fmt::format("unknown {}{}; the {} available: {}\nlooked in (the plugin folders, then "
                               "SYMGRAD_PLUGIN_PATH's, then the built-in plugins):{}{}",
                               label, did_you_mean(name, names), plural(kind), list.empty() ? "none" : list, looked,
                               unindexed.empty() ? "" : "\nplugins whose components are not known:" + unindexed));
}

namespace {
template <class T, class Make>
std::unique_ptr<T> make_component(const std::string& who, const ComponentInfo& info, const Settings& settings,
                                  const Make& make) {
  const Hyperparams params(info.schema, settings, fmt::format("{} '{}'", to_string(info.kind), info.name));
  auto x = guarded(who, fmt::format("being made with {}", params.to_string()), [&] { return make(params); });
  if (!x) throw PluginError(fmt::format("{} made nothing", who));
  return plugin_detail::guard(std::move(x), who);
}
}  // namespace

std::unique_ptr<Initializer> PluginRegistry::make_initializer(const std::string& name, const Settings& settings) {
  const auto& e = impl_->entry(*this, ComponentKind::initializer, name);
  return make_component<Initializer>(impl_->who(e), e.info, settings, e.made.make_initializer);
}
std::unique_ptr<UpdateRule> PluginRegistry::make_update_rule(const std::string& name, const Settings& settings) {
  const auto& e = impl_->entry(*this, ComponentKind::optimizer, name);
  if (!e.made.make_update_rule) {
    throw UsageError(fmt::format("optimizer '{}' is host-driven (it minimizes a full-batch objective from its own "
                                 "loop): it has no update rule to put in a training step",
                                 name));
  }
  return make_component<UpdateRule>(impl_->who(e), e.info, settings, e.made.make_update_rule);
}
std::unique_ptr<HostOptimizer> PluginRegistry::make_host_optimizer(const std::string& name, const Settings& settings) {
  const auto& e = impl_->entry(*this, ComponentKind::optimizer, name);
  if (!e.made.make_host_optimizer) {
    throw UsageError(fmt::format("optimizer '{}' is first-order (an update rule in the training step): it has no "
                                 "host loop",
                                 name));
  }
  return make_component<HostOptimizer>(impl_->who(e), e.info, settings, e.made.make_host_optimizer);
}
double PluginRegistry::learning_rate(const std::string& name, const Settings& settings) {
  const auto& e = impl_->entry(*this, ComponentKind::optimizer, name);
  const Hyperparams params(e.info.schema, settings, fmt::format("optimizer '{}'", name));
  return params.real("lr");
}
std::unique_ptr<Regularizer> PluginRegistry::make_regularizer(const std::string& name, const Settings& settings) {
  const auto& e = impl_->entry(*this, ComponentKind::regularizer, name);
  return make_component<Regularizer>(impl_->who(e), e.info, settings, e.made.make_regularizer);
}
std::unique_ptr<Strategy> PluginRegistry::make_strategy(const std::string& name, const Settings& settings) {
  const auto& e = impl_->entry(*this, ComponentKind::strategy, name);
  return make_component<Strategy>(impl_->who(e), e.info, settings, e.made.make_strategy);
}
std::unique_ptr<Loss> PluginRegistry::make_loss(const std::string& name, const Settings& settings) {
  const auto& e = impl_->entry(*this, ComponentKind::loss, name);
  return make_component<Loss>(impl_->who(e), e.info, settings, e.made.make_loss);
}

}  // namespace symgrad
