// symgrad plot RUN_DIR... [--output DIR]: redraws the loss and accuracy curves of run folders:
// each run's own loss.svg and accuracy.svg, and with several runs a comparison of them.

#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "../command.hpp"
#include "../plot/curves.hpp"
#include "../run.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad::cli {

namespace po = boost::program_options;

int plot_command(const std::vector<std::string>& args) {
  po::options_description opts(
      "usage: symgrad plot RUN_DIR... [--output DIR]\n"
      "Redraws loss.svg and accuracy.svg in each run folder (from its metrics-epochs.csv); with several\n"
      "runs, also val_loss.svg and val_accuracy.svg comparing them, in DIR (default: the current folder).\n"
      "Options");
  std::string output = ".";
  opts.add_options()("help,h", "this help")("output", po::value(&output), "where comparisons go");
  po::options_description hidden;
  std::vector<std::string> runs;
  hidden.add_options()("runs", po::value(&runs));
  po::positional_options_description pos;
  pos.add("runs", -1);
  po::variables_map vm;
  if (parse_arguments(args, opts, vm, &hidden, &pos)) return kOk;
  if (runs.empty()) throw UsageError("give at least one run folder (symgrad plot --help)");
  namespace fs = std::filesystem;
  std::vector<CurveRun> curves;
  for (const auto& r : runs) {
    const fs::path csv = fs::path(r) / "metrics-epochs.csv";
    if (!fs::exists(csv)) throw UsageError(fmt::format("'{}' is not a run folder (no metrics-epochs.csv)", r));
    const std::string name = fs::path(r).filename().string();
    const auto files = draw_run_plots(r, name);
    curves.push_back({name, csv.string()});
    fmt::print("{}: {}, {}\n", r, files[0], files[1]);
  }
  if (curves.size() > 1) {
    fs::create_directories(output);
    const std::string metric = run_metric(curves.front().epochs_csv);
    plot_curves((fs::path(output) / "val_loss.svg").string(), "validation loss", "loss", curves, {"val_loss"});
    plot_curves((fs::path(output) / ("val_" + metric + ".svg")).string(), "validation " + metric, metric, curves,
                {"val_" + metric});
    fmt::print("comparison: {}, {}\n", (fs::path(output) / "val_loss.svg").string(),
               (fs::path(output) / ("val_" + metric + ".svg")).string());
  }
  return kOk;
}

}  // namespace symgrad::cli
