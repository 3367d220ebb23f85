// symgrad ensemble EXPERIMENT.toml [--members K] [--set key=value ...] [--output DIR]: bagging. Trains
// K members of the experiment, each on its own bootstrap resample of the training data
// (train/ensemble.hpp), and prints each member's test accuracy, their mean, and the accuracy of the
// averaged probabilities and of the majority vote.

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "../command.hpp"
#include "../run.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/io/run_folder.hpp"
#include "symgrad/train/ensemble.hpp"

namespace symgrad::cli {

namespace po = boost::program_options;

int ensemble_command(const std::vector<std::string>& args) {
  po::options_description opts(
      "usage: symgrad ensemble EXPERIMENT.toml [--members K] [--set key=value ...] [--output DIR]\n"
      "Bagging: trains K members of the experiment, each on a bootstrap resample of its training data and\n"
      "with its own initialization, then combines their predictions on the test data by averaging their\n"
      "probabilities and by majority vote. Member i's run folder is DIR/member<i> (DIR defaults to the\n"
      "experiment's output + \"-ensemble\"). Options");
  std::vector<std::string> sets;
  std::string output;
  std::int64_t members = 5;
  opts.add_options()("help,h", "this help")("members", po::value(&members)->default_value(5), "K, the number of members")(
      "set", po::value(&sets), "override a key (repeatable)")("output", po::value(&output), "the folder");
  std::string file;
  po::variables_map vm;
  if (parse_with_positional(args, opts, vm, "experiment", file, "ensemble")) return kOk;
  if (members < 1) throw UsageError("--members must be >= 1");
  const Experiment x = load_experiment(file, sets);
  const ExperimentData data = load_experiment_data(x);
  const std::string dir = new_run_folder(output.empty() ? x.output + "-ensemble" : output, !output.empty());
  const RunFolderLock lock(dir);
  fmt::print("{}: {} members on bootstrap resamples of {} training examples\n", x.name, members, data.train.size());
  const RunThreads threads = choose_threads(x, x.model(data.train), dir, false);
  fmt::print("threads: {} ({})\n", threads.count, threads.why);
  const EnsembleResult r = train_bagging(x, data, members, dir);
  for (std::size_t i = 0; i < r.members.size(); ++i) {
    fmt::print("member {:3}   test accuracy {:.2f}%\n", i, 100 * r.members[i].accuracy);
  }
  fmt::print("\nmean member          {:.2f}%\naveraged probability {:.2f}%\nmajority vote        {:.2f}%\n",
             100 * r.mean_member_accuracy, 100 * r.averaged_accuracy, 100 * r.vote_accuracy);
  fmt::print("members' run folders in {}\n", dir);
  return kOk;
}

}  // namespace symgrad::cli
