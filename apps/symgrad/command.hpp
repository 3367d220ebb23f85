#pragma once
// The subcommands of `symgrad`: each takes its arguments (after the subcommand's name) and
// returns the exit status: 0 success, 1 a check or run failed, 2 a usage error.

#include <string>
#include <vector>

namespace symgrad::cli {

inline constexpr int kOk = 0, kFailed = 1, kUsage = 2;

struct Command {
  const char* name;
  const char* summary;  // one line, for `symgrad --help`
  int (*run)(const std::vector<std::string>& args);
};

int plugins_command(const std::vector<std::string>& args);
int gradcheck_command(const std::vector<std::string>& args);
int minimize_command(const std::vector<std::string>& args);

}  // namespace symgrad::cli
