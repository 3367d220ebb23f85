// The run folder's lock within one process (the refusal of a second process is in
// tests/apps/run_folder_test.sh): shared by nested holders, released by the last; and which
// folders a new run may write.

#include <filesystem>
#include <fstream>
#include <optional>

#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "symgrad/io/run_folder.hpp"

namespace symgrad {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

// Whether an open file description other than this process's holder's could take the lock now
// (flock locks belong to open file descriptions, so a fresh open in this process competes).
bool lockable(const fs::path& dir) {
  const int fd = ::open((dir / kRunFolderLockFile).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return true;
  const bool free = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
  ::close(fd);
  return free;
}

TEST(RunFolderLock, IsSharedWithinAProcessAndReleasedByTheLastHolder) {
  const TempDir tmp;
  const fs::path dir = tmp.path / "run";
  std::optional<RunFolderLock> outer(dir.string());
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_FALSE(lockable(dir));
  {
    const RunFolderLock inner((dir / "." ).string());  // the same folder by another spelling
    EXPECT_FALSE(lockable(dir));
  }
  EXPECT_FALSE(lockable(dir)) << "the inner holder released the outer's lock";
  std::ifstream in(dir / kRunFolderLockFile);
  std::string who;
  std::getline(in, who);
  EXPECT_NE(who.find("process " + std::to_string(::getpid()) + " on "), std::string::npos) << who;
  outer.reset();
  EXPECT_TRUE(lockable(dir));
}

TEST(RunFolderLock, AFolderIsFreeWhenMissingOrHoldingOnlyItsLock) {
  const TempDir tmp;
  const fs::path dir = tmp.path / "run";
  EXPECT_TRUE(run_folder_is_free(dir.string()));
  { const RunFolderLock lock(dir.string()); }
  EXPECT_TRUE(run_folder_is_free(dir.string()));  // only the lock file
  std::ofstream(dir / "metrics-epochs.csv") << "epoch\n";
  EXPECT_FALSE(run_folder_is_free(dir.string()));
  std::ofstream(tmp.path / "file") << "x";
  EXPECT_FALSE(run_folder_is_free((tmp.path / "file").string()));  // not a folder
}

}  // namespace
}  // namespace symgrad
