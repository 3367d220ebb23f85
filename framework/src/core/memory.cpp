#include "symgrad/core/memory.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace symgrad {

namespace {

// A /proc/meminfo field in bytes ("MemAvailable:  1234 kB").
std::optional<std::int64_t> meminfo(const std::string& text, const std::string& field) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    std::istringstream v(line.substr(field.size() + 1));
    std::int64_t kb = 0;
    if (v >> kb) return kb * 1024;
  }
  return std::nullopt;
}

std::optional<std::int64_t> number_in(const char* path) {
  std::ifstream in(path);
  std::int64_t v = 0;
  if (in >> v) return v;
  return std::nullopt;  // missing, or "max"
}

}  // namespace

std::optional<std::int64_t> available_memory_bytes() {
  std::ifstream in("/proc/meminfo");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto available = meminfo(text, "MemAvailable");
  if (!available) return std::nullopt;
  std::int64_t bytes = *available + meminfo(text, "SwapFree").value_or(0);
  const auto limit = number_in("/sys/fs/cgroup/memory.max"), used = number_in("/sys/fs/cgroup/memory.current");
  if (limit && used) bytes = std::min(bytes, std::max<std::int64_t>(0, *limit - *used));
  return bytes;
}

std::string format_bytes(double bytes) {
  if (bytes >= 1024.0 * 1024 * 1024) return fmt::format("{:.1f} GiB", bytes / (1024.0 * 1024 * 1024));
  if (bytes >= 1024.0 * 1024) return fmt::format("{:.0f} MiB", bytes / (1024.0 * 1024));
  if (bytes >= 1024.0) return fmt::format("{:.0f} KiB", bytes / 1024.0);
  return fmt::format("{:.0f} bytes", bytes);
}

}  // namespace symgrad
