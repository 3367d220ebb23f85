#pragma once
/// @file
/// How much memory this process may still take, for refusing work that cannot fit before it
/// allocates (a Linux process that overcommits is killed by the system, with no message).

#include <cstdint>
#include <optional>
#include <string>

namespace symgrad {

/// Bytes this process may still allocate: the system's MemAvailable plus free swap
/// (/proc/meminfo), or less when a control group's memory.max leaves less; nullopt when unknown.
std::optional<std::int64_t> available_memory_bytes();

/// "1.5 GiB", "320 MiB", "12 KiB", "100 bytes".
std::string format_bytes(double bytes);

}  // namespace symgrad
