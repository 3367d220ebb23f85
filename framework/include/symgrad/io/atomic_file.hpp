#pragma once
/// @file
/// Writing a file so that a reader, or a process killed part-way, never sees half of it.

#include <string>

namespace symgrad {

/// Writes `bytes` to `path` atomically: into `<path>.tmp-<pid>` beside it, flushed to the disk
/// (fsync), then renamed over `path`, and the folder synced so that the rename lasts. A failure is
/// an Error naming the file (a full disk), and leaves `path` as it was and no temporary. A
/// temporary a killed process left is recognised by its process id (the Trainer removes those
/// whose process is gone from its run folder).
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace symgrad
