#pragma once
// Running gnuplot (Debian's gnuplot-nox) on a script, for the command line's pictures.
//
// No text a user controls reaches gnuplot's parser unquoted: every title, label and path goes
// through gnuplot_string(), which makes a single-quoted gnuplot string (inside one, gnuplot expands
// neither macros nor backquoted commands, and '' is the only escape). gnuplot runs without a shell,
// on a script in a private scratch folder (docs/security.md).

#include <filesystem>
#include <string>
#include <string_view>

namespace symgrad::cli {

/// `text` as a single-quoted gnuplot string literal ("it's" -> 'it''s'). Refuses (UsageError naming
/// `what` and the text) a control character such as a newline, which would end the command.
std::string gnuplot_string(std::string_view text, std::string_view what);

/// A private folder for a plot's data and script: made by mkdtemp (mode 0700, a name no one can
/// guess or have made before) in the system's temporary folder, removed with what it holds when
/// the object goes.
class ScratchDir {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Writes `text` to `file` (in a ScratchDir); throws Error naming the file if any byte is not written.
void write_scratch_file(const std::filesystem::path& file, const std::string& text);

/// Runs gnuplot on `script` (no shell: the program and the script's path as its one argument),
/// which draws `output`; throws Error with gnuplot's messages if it fails, is missing, or leaves
/// `output` missing or empty.
void run_gnuplot(const std::filesystem::path& script, const std::string& output);

/// "set terminal svg ..." or "set terminal png ..." for a file's extension (UsageError otherwise).
std::string terminal_for(const std::string& file);

}  // namespace symgrad::cli
