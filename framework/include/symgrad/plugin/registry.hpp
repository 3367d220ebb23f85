#pragma once
/// @file
/// Loading plugins and making their components. Plugins are shared libraries found by name on a
/// search path or given by path; registration is transactional (all of a plugin's components are
/// checked, then committed together or not at all); libraries stay loaded until the process ends.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "symgrad/plugin/components.hpp"
#include "symgrad/plugin/hyperparams.hpp"

namespace symgrad {

/// A loaded plugin.
struct PluginInfo {
  std::string name;
  std::string version;
  std::string file;  ///< canonical path of the library
  std::vector<std::pair<ComponentKind, std::string>> components;
};

/// A registered component and where it came from.
struct ComponentInfo {
  ComponentKind kind = ComponentKind::op;
  std::string name;
  std::string doc;
  Schema schema;
  std::string plugin;  ///< the plugin's name
  std::string file;    ///< the plugin's file
  bool host_driven = false;  ///< an optimizer that runs its own loop (HostOptimizer)
};

/// The process-wide registry of plugins and their components.
class PluginRegistry {
 public:
  static PluginRegistry& global();

  /// Directories searched for plugins by name, in order: `extra`, then SYMGRAD_PLUGIN_PATH
  /// (colon-separated), then "symgrad/plugins" beside the framework's library (the build tree's
  /// build/lib/symgrad/plugins, or an install's <prefix>/lib/symgrad/plugins).
  std::vector<std::string> search_path(const std::vector<std::string>& extra = {}) const;
  /// Every plugin file (symgrad-<name>.so) on the search path, in its order (a plugin name in two
  /// folders twice). Skipped: relative entries, folders and files anyone may write, and files that
  /// cannot be resolved (warnings() says which and why).
  std::vector<std::string> find_files(const std::vector<std::string>& extra = {}) const;
  /// What find_files(extra) skips, and why (symgrad plugins prints these; an unknown component's
  /// error says them too).
  std::vector<std::string> search_warnings(const std::vector<std::string>& extra = {}) const;

  /// Loads a plugin by name ("adam": symgrad-adam.so on the search path; a name in two folders is
  /// a PluginError naming both files) or by path (anything with a '/'). A plugin's file must be
  /// symgrad-<its name>.so, and its manifest, when it has one, must list what it registers.
  /// Loading a file again is a no-op. Throws PluginError.
  const PluginInfo& load(const std::string& name_or_path, const std::vector<std::string>& extra_dirs = {});
  /// Loads the plugin library at `path` and writes its manifest beside it (symgrad-NAME.manifest:
  /// its name, version and components), replacing an old one; returns the manifest's path.
  /// symgrad_add_plugin runs this (`symgrad plugins manifest`) after building a plugin.
  std::string write_manifest(const std::string& path);
  /// Loads every plugin on the search path (symgrad plugins, gradcheck of every op); returns the
  /// failures, one a line (empty: none failed).
  std::string load_all();

  std::vector<const PluginInfo*> plugins() const;
  /// Components, of one kind or all, sorted by kind and name.
  std::vector<const ComponentInfo*> components(std::optional<ComponentKind> kind = std::nullopt) const;
  const ComponentInfo* find(ComponentKind kind, const std::string& name) const;
  /// The component, loading the one plugin that provides it: the plugin whose manifest (written
  /// beside the library when it is built: docs/security.md) lists it, or, without manifests, the
  /// plugin of that name. A name two plugins provide is a PluginError naming both files, an
  /// unknown one a UsageError listing the components of that kind and where it looked.
  const ComponentInfo& get(ComponentKind kind, const std::string& name);

  /// Components made from checked settings (unknown keys, types and ranges are UsageErrors).
  /// Whatever they throw later is reported as a PluginError naming the plugin and the call.
  std::unique_ptr<Initializer> make_initializer(const std::string& name, const Settings& settings = {});
  /// A first-order optimizer's update rule; a UsageError for a host-driven one, saying so.
  std::unique_ptr<UpdateRule> make_update_rule(const std::string& name, const Settings& settings = {});
  /// A host-driven optimizer; a UsageError for a first-order one, saying so.
  std::unique_ptr<HostOptimizer> make_host_optimizer(const std::string& name, const Settings& settings = {});
  /// The learning rate a first-order optimizer starts with: its "lr" setting, or the default.
  double learning_rate(const std::string& name, const Settings& settings = {});
  std::unique_ptr<Regularizer> make_regularizer(const std::string& name, const Settings& settings = {});
  std::unique_ptr<Strategy> make_strategy(const std::string& name, const Settings& settings = {});
  std::unique_ptr<Loss> make_loss(const std::string& name, const Settings& settings = {});

  ~PluginRegistry();

 private:
  PluginRegistry();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace symgrad
