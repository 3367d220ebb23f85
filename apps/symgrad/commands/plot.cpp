// symgrad plot RUN_DIR... [--output DIR]: redraws the loss and accuracy curves of run folders:
// each run's own loss.svg and accuracy.svg, and with several runs a comparison of them.

#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "../command.hpp"
#include "../plot/boundary.hpp"
#include "../plot/curves.hpp"
#include "../run.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad::cli {

namespace po = boost::program_options;

int plot_command(const std::vector<std::string>& args) {
  po::options_description opts(
      "usage: symgrad plot RUN_DIR... [--output DIR] [--x AXIS] [--boundary]\n"
      "Redraws loss.svg and accuracy.svg in each run folder (from its metrics-epochs.csv); with several\n"
      "runs, also val_loss.svg and val_accuracy.svg comparing them, in DIR (default: the current folder);\n"
      "--x step or --x elapsed draws them against optimizer steps or seconds since training began\n"
      "(val_loss-step.svg, val_loss-elapsed.svg, ...) instead of epochs.\n"
      "--boundary: the decision boundary of each run's model (a classifier of 2-D data): the class it\n"
      "gives each point of the plane, under the training examples, side by side in DIR/boundary.svg.\n"
      "Options");
  std::string output = ".", x = "epoch";
  bool boundary = false;
  opts.add_options()("help,h", "this help")("output", po::value(&output), "where comparisons go")(
      "x", po::value(&x), "the comparison's x axis: epoch (default), step or elapsed")(
      "boundary", po::bool_switch(&boundary), "draw the runs' decision boundaries (2-D data)");
  po::options_description hidden;
  std::vector<std::string> runs;
  hidden.add_options()("runs", po::value(&runs));
  po::positional_options_description pos;
  pos.add("runs", -1);
  po::variables_map vm;
  if (parse_arguments(args, opts, vm, &hidden, &pos)) return kOk;
  if (runs.empty()) throw UsageError("give at least one run folder (symgrad plot --help)");
  check_epochs_axis("--x", x);
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
  if (boundary) {
    std::vector<Boundary> panels;
    for (const auto& r : runs) {
      LoadedRun run = load_run_model(r);
      auto b = boundary_of(*run.trainer, run.data.train, fs::path(r).filename().string());
      if (!b) {
        const auto& train = run.data.train;
        const std::int64_t features = train.size() > 0 ? train.features.numel() / train.size() : 0;
        throw UsageError(fmt::format("'{}': a decision boundary needs a classifier of 2-D examples; {}", r,
                                     features != 2 ? fmt::format("its data have {} features an example", features)
                                                   : std::string("its model is not a classifier of labels")));
      }
      panels.push_back(std::move(*b));
    }
    fs::create_directories(output);
    const std::string file = (fs::path(output) / "boundary.svg").string();
    plot_boundaries(file, panels.size() == 1 ? panels[0].label + ": decision boundary" : "decision boundaries", panels);
    fmt::print("decision boundary: {}\n", file);
  }
  if (curves.size() > 1) {
    fs::create_directories(output);
    const std::string metric = run_metric(curves.front().epochs_csv);
    const std::string loss_plot = comparison_file(output, "val_loss", x), metric_plot = comparison_file(output, "val_" + metric, x);
    plot_curves(loss_plot, "validation loss", "loss", curves, {"val_loss"}, x);
    plot_curves(metric_plot, "validation " + metric, metric, curves, {"val_" + metric}, x);
    fmt::print("comparison: {}, {}\n", loss_plot, metric_plot);
  }
  return kOk;
}

}  // namespace symgrad::cli
