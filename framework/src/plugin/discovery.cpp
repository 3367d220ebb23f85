#include "discovery.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

namespace symgrad::plugin_detail {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "symgrad-";
constexpr const char* kSuffix = ".so";
constexpr const char* kHeader = "# symgrad plugin manifest 1";

// Writable by anyone (a sticky bit does not help: in /tmp anyone may still add a library).
bool world_writable(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && (st.st_mode & S_IWOTH) != 0;
}

}  // namespace

std::string plugin_name_of(const fs::path& p) {
  const std::string f = p.filename().string();
  const std::string prefix = kPrefix, suffix = kSuffix;
  if (f.size() <= prefix.size() + suffix.size() || f.compare(0, prefix.size(), prefix) != 0 ||
      f.compare(f.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return "";
  }
  return f.substr(prefix.size(), f.size() - prefix.size() - suffix.size());
}

fs::path manifest_path(const fs::path& library) {
  fs::path m = library;
  return m.replace_extension(".manifest");
}

std::string manifest_text(const PluginInfo& info) {
  std::string s = fmt::format("{}: the components of symgrad-{}.so, read by symgrad to load only the\n"
                              "# plugins a command needs (written by `symgrad plugins manifest` when it was built)\n"
                              "plugin {} {}\n",
                              kHeader, info.name, info.name, info.version);
  auto components = info.components;
  std::sort(components.begin(), components.end());
  for (const auto& [kind, name] : components) s += fmt::format("{} {}\n", to_string(kind), name);
  return s;
}

std::optional<Manifest> read_manifest(const fs::path& library) {
  const fs::path path = manifest_path(library);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  std::ifstream in(path);
  Manifest m;
  std::string line;
  const auto bad = [&](std::size_t lineno, const std::string& why) {
    return PluginError(fmt::format("{}:{}: {} (a plugin's manifest: rebuild the plugin with symgrad_add_plugin, or "
                                   "delete the file to load the plugin only by its name)",
                                   path.string(), lineno, why));
  };
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (lineno == 1 && line.rfind(kHeader, 0) != 0) throw bad(1, "not a symgrad plugin manifest");
    if (line.empty() || line[0] == '#') continue;
    if (line.size() > 200) throw bad(lineno, "a line longer than 200 characters");
    std::istringstream words(line);
    std::string first, second, third, more;
    words >> first >> second >> third >> more;
    if (first == "plugin" && !second.empty() && more.empty()) {
      m.plugin = second, m.version = third;
    } else if (const auto kind = parse_component_kind(first); kind && !second.empty() && third.empty()) {
      m.components.emplace_back(*kind, second);
    } else {
      throw bad(lineno, "expected 'plugin NAME VERSION' or 'KIND NAME' (op, initializer, optimizer, regularizer, "
                        "strategy)");
    }
  }
  if (lineno == 0) throw bad(1, "an empty file");
  if (m.plugin != plugin_name_of(library)) {
    throw bad(1, fmt::format("it names plugin '{}', its library is {}", m.plugin, library.filename().string()));
  }
  return m;
}

Discovery discover(const std::vector<std::string>& dirs) {
  Discovery d;
  std::set<std::string> seen_dirs;
  for (const auto& dir : dirs) {
    const fs::path p = dir;
    if (p.is_relative()) {
      d.warnings.push_back(fmt::format("plugin folder '{}' skipped: a relative entry would depend on the current "
                                       "folder (give an absolute path)",
                                       dir));
      continue;
    }
    std::error_code ec;
    const fs::path canonical = fs::canonical(p, ec);
    if (ec) {  // a folder that does not exist holds no plugin; one that cannot be resolved is said
      std::error_code missing;
      if (fs::exists(fs::symlink_status(p, missing))) {
        d.warnings.push_back(fmt::format("plugin folder '{}' skipped: {}", dir, ec.message()));
      }
      continue;
    }
    if (!seen_dirs.insert(canonical.string()).second || !fs::is_directory(canonical, ec)) continue;
    if (world_writable(canonical)) {
      d.warnings.push_back(fmt::format("plugin folder '{}' skipped: anyone may write it, and so plant a library "
                                       "that symgrad would run (chmod o-w it)",
                                       dir));
      continue;
    }
    std::vector<fs::path> found;
    for (fs::directory_iterator it(canonical, ec), end; !ec && it != end; it.increment(ec)) {
      if (!plugin_name_of(it->path()).empty()) found.push_back(it->path());
    }
    if (ec) {
      d.warnings.push_back(fmt::format("plugin folder '{}' skipped: {}", dir, ec.message()));
      continue;
    }
    std::sort(found.begin(), found.end());
    for (const auto& f : found) {
      const fs::path file = fs::canonical(f, ec);
      if (ec) {
        d.warnings.push_back(fmt::format("plugin file '{}' skipped: {}", f.string(), ec.message()));
        continue;
      }
      if (world_writable(file)) {
        d.warnings.push_back(fmt::format("plugin file '{}' skipped: anyone may write it (chmod o-w it)", f.string()));
        continue;
      }
      Candidate c{file, plugin_name_of(f), std::nullopt};
      try {
        c.manifest = read_manifest(f);
      } catch (const PluginError& e) {
        d.warnings.push_back(fmt::format("plugin file '{}' skipped: {}", f.string(), e.what()));
        continue;
      }
      d.candidates.push_back(std::move(c));
    }
  }
  return d;
}

}  // namespace symgrad::plugin_detail
