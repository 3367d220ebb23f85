#pragma once
// The subcommands of `symgrad`: each takes its arguments (after the subcommand's name) and
// returns the exit status: 0 success, 1 a check or run failed, 2 a usage error.

#include <string>
#include <vector>

#include <boost/program_options.hpp>

namespace symgrad::cli {

inline constexpr int kOk = 0, kFailed = 1, kUsage = 2;

struct Command {
  const char* name;
  const char* summary;  // one line, for `symgrad --help`
  int (*run)(const std::vector<std::string>& args);
};

/// Parses a subcommand's arguments into `vm` (with `positional` names taken from `hidden`
/// options); prints `opts` and returns true when --help was given.
bool parse_arguments(const std::vector<std::string>& args, const boost::program_options::options_description& opts,
                     boost::program_options::variables_map& vm,
                     const boost::program_options::options_description* hidden = nullptr,
                     const boost::program_options::positional_options_description* positional = nullptr);

/// parse_arguments for a command with one positional argument (`name`, e.g. the experiment file)
/// stored in `value`; throws a UsageError naming `command` when it is missing.
bool parse_with_positional(const std::vector<std::string>& args, const boost::program_options::options_description& opts,
                           boost::program_options::variables_map& vm, const char* name, std::string& value,
                           const char* command);

/// The non-empty pieces of `s` between `sep`s.
std::vector<std::string> split(const std::string& s, char sep);

/// A point written "1.5,-2": its numbers; UsageError naming `option` for a piece that is not one.
std::vector<double> parse_point(const std::string& text, const std::string& option);

int plugins_command(const std::vector<std::string>& args);
int gradcheck_command(const std::vector<std::string>& args);
int minimize_command(const std::vector<std::string>& args);
int train_command(const std::vector<std::string>& args);
int compare_command(const std::vector<std::string>& args);
int ensemble_command(const std::vector<std::string>& args);
int plot_command(const std::vector<std::string>& args);
int landscape_command(const std::vector<std::string>& args);
int eval_command(const std::vector<std::string>& args);
int predict_command(const std::vector<std::string>& args);
/// symgrad plugins check PLUGIN (plugin_check.cpp).
int plugin_check_command(const std::string& target);

}  // namespace symgrad::cli
