#pragma once
/// @file
/// One writer per run folder. A process that writes a run folder (the Trainer's metrics and
/// checkpoints, the command line's variables and plots) holds an advisory lock on the folder's
/// `.symgrad.lock` file (flock: the kernel releases it when the process ends, SIGKILL included).
/// A second process that tries to write the same folder is refused, and the message names the
/// first (its process id, host, start time and command line, which the holder writes into the file).

#include <memory>
#include <string>

namespace symgrad {

/// The name of the lock file inside a run folder.
inline constexpr const char* kRunFolderLockFile = ".symgrad.lock";

/// Holds the lock of one run folder (made if missing) until destroyed. Within one process the lock
/// is shared: a second RunFolderLock of the same folder (the Trainer's inside the command line's)
/// succeeds, and the folder stays locked until the last one goes. Throws UsageError when another
/// process holds the folder, naming it.
class RunFolderLock {
 public:
  explicit RunFolderLock(const std::string& dir);
  ~RunFolderLock();
  RunFolderLock(const RunFolderLock&) = delete;
  RunFolderLock& operator=(const RunFolderLock&) = delete;

 private:
  std::string key_;
};

/// Whether `dir` is missing, or a folder that holds nothing but its lock file: a new run may be
/// written there without mixing with an earlier one.
bool run_folder_is_free(const std::string& dir);

}  // namespace symgrad
