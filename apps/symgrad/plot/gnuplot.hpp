#pragma once
// Running gnuplot (Debian's gnuplot-nox) on a script, for the command line's pictures.

#include <filesystem>
#include <string>

namespace symgrad::cli {

/// A fresh folder for a plot's data and script (remove it when done).
std::filesystem::path scratch_dir();

/// Runs `script`, which draws `output`; throws Error with gnuplot's messages if it fails or is
/// missing.
void run_gnuplot(const std::filesystem::path& script, const std::string& output);

/// "set terminal svg ..." or "set terminal png ..." for a file's extension (UsageError otherwise).
std::string terminal_for(const std::string& file);

}  // namespace symgrad::cli
