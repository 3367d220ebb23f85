#pragma once
// Finding plugins without loading them (docs/security.md, "Plugins"): the libraries on the search
// path, and each one's manifest, a text file written beside it at build time that lists its
// components. A command loads only the plugins whose components it asks for.

#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "symgrad/plugin/components.hpp"
#include "symgrad/plugin/registry.hpp"

namespace symgrad::plugin_detail {

/// What a manifest says: the plugin's name and version and its components.
struct Manifest {
  std::string plugin, version;
  std::vector<std::pair<ComponentKind, std::string>> components;
};

/// symgrad-NAME.so -> symgrad-NAME.manifest beside it.
std::filesystem::path manifest_path(const std::filesystem::path& library);
/// The manifest of a loaded plugin, as symgrad_add_plugin writes it (`symgrad plugins manifest`).
std::string manifest_text(const PluginInfo& info);
/// The manifest beside `library`; nullopt when there is none. A damaged one is a PluginError
/// naming its file and line.
std::optional<Manifest> read_manifest(const std::filesystem::path& library);

/// A plugin library found on the search path.
struct Candidate {
  std::filesystem::path file;  ///< canonical
  std::string plugin;          ///< NAME of symgrad-NAME.so
  std::optional<Manifest> manifest;
};

struct Discovery {
  std::vector<Candidate> candidates;  ///< in search-path order; one plugin name may be in several folders
  std::vector<std::string> warnings;  ///< entries skipped, and why
};

/// The libraries symgrad-NAME.so in `dirs`. Skipped, with a warning each: a relative entry (it
/// would depend on the current folder), a folder or library that anyone may write (anyone could
/// plant a library there), and a file that cannot be resolved (a symbolic link loop).
Discovery discover(const std::vector<std::string>& dirs);

/// "name" of a file symgrad-name.so, or "".
std::string plugin_name_of(const std::filesystem::path& p);

}  // namespace symgrad::plugin_detail
