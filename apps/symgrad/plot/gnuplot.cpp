#include "gnuplot.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

extern char** environ;

namespace symgrad::cli {

namespace fs = std::filesystem;

std::string gnuplot_string(std::string_view text, std::string_view what) {
  std::string quoted = "'";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      const std::string shown(text.substr(0, 80));
      throw UsageError(fmt::format("{} '{}{}' holds a control character (code {}), which a plot cannot show", what,
                                   shown, text.size() > 80 ? "..." : "", static_cast<int>(u)));
    }
    quoted += c;
    if (c == '\'') quoted += '\'';  // gnuplot's one escape in single quotes: '' is '
  }
  return quoted + "'";
}

ScratchDir::ScratchDir() {
  std::string pattern = (fs::temp_directory_path() / "symgrad-plot-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw Error(fmt::format("cannot make a scratch folder for a plot in '{}': {}", fs::temp_directory_path().string(),
                            std::strerror(errno)));
  }
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

void write_scratch_file(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary);
  out << text;
  if (!out.flush()) throw Error(fmt::format("cannot write '{}' (is the disk full?)", file.string()));
}

std::string terminal_for(const std::string& file) {
  const std::string ext = fs::path(file).extension().string();
  if (ext == ".svg") return "set terminal svg size 800,560 dynamic font 'sans,11'\n";
  if (ext == ".png") return "set terminal png size 800,560\n";
  throw UsageError(fmt::format("'{}': a plot file ends in .svg or .png", file));
}

namespace {

// Runs `gnuplot script` with its standard error to `errors`; the exit status, or -1 if it could not
// be started (errno kept in `spawn_error`).
int spawn_gnuplot(const fs::path& script, const fs::path& errors, int& spawn_error) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, errors.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::string program = "gnuplot", path = script.string();
  std::vector<char*> argv = {program.data(), path.data(), nullptr};
  pid_t pid = 0;
  spawn_error = posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

void run_gnuplot(const fs::path& script, const std::string& output) {
  const fs::path errors = script.parent_path() / "errors.txt";
  int spawn_error = 0;
  const int status = spawn_gnuplot(script, errors, spawn_error);
  if (status == -1) {
    throw Error(fmt::format("cannot run gnuplot to draw '{}': {}; scripts/setup installs gnuplot-nox", output,
                            std::strerror(spawn_error)));
  }
  std::error_code ec;
  const auto size = fs::file_size(output, ec);
  if (status == 0 && !ec && size > 0) return;
  std::ifstream in(errors);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (status == 0) {
    throw Error(fmt::format("gnuplot could not write '{}' ({}){}{}", output, ec ? ec.message() : "it is empty",
                            text.empty() ? "" : ":\n", text));
  }
  throw Error(fmt::format("gnuplot could not draw '{}' (exit status {}){}{}", output, status, text.empty() ? "" : ":\n",
                          text));
}

}  // namespace symgrad::cli
