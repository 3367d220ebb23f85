#include "gnuplot.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

namespace symgrad::cli {

namespace fs = std::filesystem;

fs::path scratch_dir() {
  static std::atomic<int> count{0};
  const fs::path dir =
      fs::temp_directory_path() / fmt::format("symgrad-plot-{}-{}", static_cast<long>(::getpid()), count++);
  fs::create_directories(dir);
  return dir;
}

std::string terminal_for(const std::string& file) {
  const std::string ext = fs::path(file).extension().string();
  if (ext == ".svg") return "set terminal svg size 800,560 dynamic font 'sans,11'\n";
  if (ext == ".png") return "set terminal png size 800,560\n";
  throw UsageError(fmt::format("'{}': a plot file ends in .svg or .png", file));
}

void run_gnuplot(const fs::path& script, const std::string& output) {
  const fs::path errors = script.parent_path() / "errors.txt";
  const std::string command = fmt::format("gnuplot '{}' 2> '{}'", script.string(), errors.string());
  const int status = std::system(command.c_str());
  if (status == 0) return;
  std::ifstream in(errors);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  throw Error(fmt::format("gnuplot could not draw '{}' (exit status {}){}{}", output, status,
                          text.empty() ? "; is gnuplot installed? scripts/setup installs gnuplot-nox" : ":\n", text));
}

}  // namespace symgrad::cli
