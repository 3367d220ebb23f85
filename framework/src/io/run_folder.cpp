#include "symgrad/io/run_folder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

namespace symgrad {

namespace fs = std::filesystem;

namespace {

struct Held {
  int fd = -1;
  int count = 0;
};

// The folders this process holds, by canonical path (the lock is per open file, so a second open
// and flock of the same file in this process would refuse itself).
std::mutex held_mutex;
std::map<std::string, Held>& held() {
  static std::map<std::string, Held> folders;
  return folders;
}

std::string command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()), out;
  for (char c : all) out += c == '\0' ? ' ' : (static_cast<unsigned char>(c) < 0x20 ? '?' : c);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.size() > 300) out = out.substr(0, 300) + "...";
  return out;
}

// What the holder wrote into the lock file, as a message may show it: a received run folder's lock
// file is anyone's text, so control characters (terminal escapes) become '?' and it is cut short.
std::string who_holds(const std::string& lock_file) {
  std::ifstream in(lock_file);
  std::string line;
  std::getline(in, line);
  if (line.size() > 400) line = line.substr(0, 400) + "...";
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return line.empty() ? "another process (it has not said which yet)" : line;
}

}  // namespace

RunFolderLock::RunFolderLock(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("cannot make the run folder '{}': {}", dir, ec.message()));
  key_ = fs::canonical(dir).string();
  const std::lock_guard<std::mutex> guard(held_mutex);
  Held& h = held()[key_];
  if (h.count > 0) {
    ++h.count;
    return;
  }
  const std::string file = (fs::path(key_) / kRunFolderLockFile).string();
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    held().erase(key_);
    throw Error(fmt::format("cannot open the lock file '{}' of the run folder: {}", file, std::strerror(errno)));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    held().erase(key_);
    if (err == EWOULDBLOCK) {
      throw UsageError(fmt::format("the run folder '{}' is in use by {}: one process writes a run folder at a time "
                                   "(wait for it, or give another --output)",
                                   dir, who_holds(file)));
    }
    throw Error(fmt::format("cannot lock the run folder '{}' ({}): {}", dir, file, std::strerror(err)));
  }
  char host[256] = "?";
  ::gethostname(host, sizeof host - 1);
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char when[32] = "?";
  std::tm tm{};
  if (::localtime_r(&now, &tm) != nullptr) std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
  const std::string who =
      fmt::format("process {} on {} since {} ({})\n", ::getpid(), host, when, command_line());
  // what the holder writes only helps the message of a refused process: a failed write is no error
  [[maybe_unused]] const bool said =
      ::ftruncate(fd, 0) == 0 && ::pwrite(fd, who.data(), who.size(), 0) == static_cast<ssize_t>(who.size());
  h.fd = fd;
  h.count = 1;
}

RunFolderLock::~RunFolderLock() {
  const std::lock_guard<std::mutex> guard(held_mutex);
  auto it = held().find(key_);
  if (it == held().end() || --it->second.count > 0) return;
  // the file stays: removing it would let a process that opened it just before lock a file no
  // longer in the folder while a third makes and locks a new one
  ::close(it->second.fd);
  held().erase(it);
}

bool run_folder_is_free(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return true;
  if (!fs::is_directory(dir, ec)) return false;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename() != kRunFolderLockFile) return false;
  }
  return !ec;
}

}  // namespace symgrad
