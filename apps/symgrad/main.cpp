// symgrad: the command line. `symgrad <command> [options]`; `symgrad <command> --help` for one.
// Exit status: 0 success, 1 a check or run failed, 2 a usage error.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <boost/program_options/errors.hpp>
#include <fmt/format.h>

#include "command.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/core/names.hpp"

namespace symgrad::cli {

bool parse_arguments(const std::vector<std::string>& args, const boost::program_options::options_description& opts,
                     boost::program_options::variables_map& vm,
                     const boost::program_options::options_description* hidden,
                     const boost::program_options::positional_options_description* positional) {
  namespace po = boost::program_options;
  po::options_description all;
  all.add(opts);
  if (hidden != nullptr) all.add(*hidden);
  po::command_line_parser parser(args);
  parser.options(all);
  if (positional != nullptr) parser.positional(*positional);
  po::store(parser.run(), vm);
  po::notify(vm);
  // an empty text given for an option (--output "") is a mistake, never "the default"
  for (const auto& [key, value] : vm) {
    const auto* option = opts.find_nothrow(key, false);
    if (value.defaulted() || (option != nullptr && option->semantic()->max_tokens() == 0)) continue;  // a flag
    const auto* text = boost::any_cast<std::string>(&value.value());
    const auto* texts = boost::any_cast<std::vector<std::string>>(&value.value());
    bool empty = text != nullptr && text->empty();
    for (std::size_t i = 0; texts != nullptr && i < texts->size(); ++i) empty = empty || (*texts)[i].empty();
    if (empty) throw UsageError(fmt::format("{}{} is given an empty value", option != nullptr ? "--" : "the ", key));
  }
  if (!vm.count("help")) return false;
  std::cout << opts << "\n";
  return true;
}

bool parse_with_positional(const std::vector<std::string>& args, const boost::program_options::options_description& opts,
                           boost::program_options::variables_map& vm, const char* name, std::string& value,
                           const char* command) {
  namespace po = boost::program_options;
  po::options_description hidden;
  hidden.add_options()(name, po::value(&value));
  po::positional_options_description pos;
  pos.add(name, 1);
  if (parse_arguments(args, opts, vm, &hidden, &pos)) return true;
  if (value.empty()) throw UsageError(fmt::format("give the {} (symgrad {} --help)", name, command));
  return false;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, sep);) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

std::vector<double> parse_point(const std::string& text, const std::string& option) {
  std::vector<double> v;
  for (const auto& p : split(text, ',')) {
    char* end = nullptr;
    v.push_back(std::strtod(p.c_str(), &end));
    if (*end != '\0') throw UsageError(fmt::format("{}: '{}' is not a number", option, p));
  }
  return v;
}

}  // namespace symgrad::cli

namespace {

using symgrad::cli::Command;

const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      {"plugins", "list the plugins found, their components and hyperparameters", symgrad::cli::plugins_command},
      {"gradcheck", "gradient-check ops (built-in or a plugin's) by central differences", symgrad::cli::gradcheck_command},
      {"train", "train the model of an experiment file on its data; metrics, plots, test accuracy",
       symgrad::cli::train_command},
      {"eval", "evaluate a trained run on its test (or validation, training) data", symgrad::cli::eval_command},
      {"predict", "the outputs of a trained run's model for new data (.csv, .npy, .npz)", symgrad::cli::predict_command},
      {"compare", "train variants of an experiment (--vary KEY=V1,V2) and show them side by side",
       symgrad::cli::compare_command},
      {"ensemble", "bagging: train members on bootstrap resamples, average and vote their predictions",
       symgrad::cli::ensemble_command},
      {"plot", "redraw the loss and accuracy curves of run folders, and compare them", symgrad::cli::plot_command},
      {"landscape", "the loss along the line from a run's initial to its trained parameters, and on a plane",
       symgrad::cli::landscape_command},
      {"minimize", "run optimizers on a test function or an expression; trace and plot their paths",
       symgrad::cli::minimize_command},
  };
  return all;
}

void usage(std::FILE* out) {
  fmt::print(out, "usage: symgrad <command> [options]\n\ncommands:\n");
  for (const auto& c : commands()) fmt::print(out, "  {:12} {}\n", c.name, c.summary);
  fmt::print(out, "\n'symgrad <command> --help' describes a command.\n");
}

}  // namespace

namespace {

// OpenMP threads that wait for work spin first: libgomp's default is 300000 spins (about a
// millisecond) before they sleep, and two runs side by side on the same cores spin through each
// other's time slices (the Fashion-MNIST CNN, one epoch on 2 cores: 12.6 s alone, 62.6 s each of
// two at once; with 1000 spins 13.2 s and 26.2 s; docs/backends.md, "Threads"). So symgrad bounds
// the spin to GOMP_SPINCOUNT=1000 unless the user set GOMP_SPINCOUNT or OMP_WAIT_POLICY. libgomp
// reads them when it loads, before main(): the command runs itself again, once, with the setting
// (same process, arguments and environment otherwise). Results do not depend on it.
void bound_openmp_spin(char** argv) {
  if (std::getenv("GOMP_SPINCOUNT") != nullptr || std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("GOMP_SPINCOUNT", "1000", 1) != 0) return;
  execv("/proc/self/exe", argv);  // returns only when it failed: run on with libgomp's default
}

}  // namespace

int main(int argc, char** argv) {
  bound_openmp_spin(argv);
  if (argc < 2) {
    usage(stderr);
    return symgrad::cli::kUsage;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    usage(stdout);
    return symgrad::cli::kOk;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  std::vector<std::string> names;
  for (const auto& c : commands()) {
    names.push_back(c.name);
    if (name != c.name) continue;
    try {
      return c.run(args);
    } catch (const boost::program_options::error& e) {
      fmt::print(stderr, "symgrad {}: {} (try 'symgrad {} --help')\n", name, e.what(), name);
      return symgrad::cli::kUsage;
    } catch (const symgrad::UsageError& e) {
      fmt::print(stderr, "symgrad {}: {}\n", name, e.what());
      return symgrad::cli::kUsage;
    } catch (const std::exception& e) {
      fmt::print(stderr, "symgrad {}: {}\n", name, e.what());
      return symgrad::cli::kFailed;
    }
  }
  fmt::print(stderr, "symgrad: unknown command '{}'{}\n", name, symgrad::did_you_mean(name, names));
  usage(stderr);
  return symgrad::cli::kUsage;
}
