// symgrad landscape RUN_DIR: the loss surface around a trained model, from the run folder's
// initial-variables.bin and variables.bin. The training objective (the loss with the penalties, as
// the optimizer minimized it) and the held-out loss along the line from the initial to the trained
// parameters (Goodfellow, Vinyals and Saxe, "Qualitatively characterizing neural network
// optimization problems", ICLR 2015), and on the plane through both spanned by that line and a
// filter-normalized random direction (Li, Xu, Taylor, Studer and Goldstein, "Visualizing the Loss
// Landscape of Neural Nets", NeurIPS 2018).

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "../command.hpp"
#include "../plot/contours.hpp"
#include "../plot/curves.hpp"
#include "../landscape.hpp"
#include "../run.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/io/atomic_file.hpp"
#include "symgrad/plugin/vectors.hpp"

namespace symgrad::cli {

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace {

struct LandscapeOptions {
  std::int64_t examples = 2000;  // of each set (0: all)
  int points = 41;               // on the line
  int grid = 25;                 // a side of the plane's lattice
  std::uint64_t seed = 0;
  std::string output;
};

// The objectives along x0 + alpha (x1 - x0), alpha in [-0.5, 1.5]: landscape-line.csv and .svg.
// Returns the training objective at each alpha.
std::vector<std::pair<double, double>> draw_line(GraphObjective& train, GraphObjective& held, const std::string& held_name,
                                                 const std::vector<double>& x0, const std::vector<double>& x1,
                                                 const LandscapeOptions& o, const std::string& title) {
  std::string csv = fmt::format("alpha,train_objective,{}_objective\n", held_name);
  std::vector<std::pair<double, double>> line;
  const std::vector<double> u = axpy(x1, -1.0, x0);
  for (int i = 0; i < o.points; ++i) {
    const double alpha = -0.5 + 2.0 * i / (o.points - 1);
    const std::vector<double> x = axpy(x0, alpha, u);
    const double t = train.value(x), h = held.value(x);
    line.emplace_back(alpha, t);
    csv += fmt::format("{:.6g},{:.9g},{:.9g}\n", alpha, t, h);
  }
  const fs::path file = fs::path(o.output) / "landscape-line.csv";
  write_file_atomically(file.string(), csv);
  plot_curves((fs::path(o.output) / "landscape-line.svg").string(), title + ": from the initial (0) to the trained (1) parameters",
              "objective", {{"", file.string()}}, {"train_objective", held_name + "_objective"}, "alpha");
  return line;
}

// What the line says: the objective at the ends, then whether it falls all the way from alpha 0
// to 1, crosses a barrier (a local maximum inside) or passes a lower point before the trained one.
void print_line(const std::vector<std::pair<double, double>>& line) {
  std::vector<std::pair<double, double>> inside;  // alpha in [0, 1]
  for (const auto& p : line) {
    if (p.first > -1e-9 && p.first < 1 + 1e-9) inside.push_back(p);
  }
  fmt::print("along the line: training objective {:.4f} at the initial parameters (alpha 0), {:.4f} at the trained ones "
             "(alpha 1)\n",
             inside.front().second, inside.back().second);
  double barrier = 0, barrier_at = 0, lowest = inside.front().second;
  for (std::size_t i = 1; i + 1 < inside.size(); ++i) {
    lowest = std::min(lowest, inside[i - 1].second);
    const double v = inside[i].second;
    if (v > inside[i - 1].second && v >= inside[i + 1].second && v - lowest > barrier) barrier = v - lowest, barrier_at = inside[i].first;
  }
  const auto low = std::min_element(inside.begin(), inside.end(), [](auto x, auto y) { return x.second < y.second; });
  if (barrier > 0) {
    fmt::print("  a barrier: it rises by {:.4g} to a local maximum at alpha {:.3g}\n", barrier, barrier_at);
  } else if (low->second < inside.back().second) {
    fmt::print("  it falls to {:.4f} at alpha {:.3g}, then rises to the trained parameters: they are not the lowest point "
               "of this line\n",
               low->second, low->first);
  } else {
    fmt::print("  it falls monotonically from alpha 0 to 1 (as Goodfellow et al. found for most networks)\n");
  }
  const auto beyond = std::min_element(line.begin(), line.end(), [](auto x, auto y) { return x.second < y.second; });
  if (beyond->first > 1 + 1e-9) fmt::print("  beyond the trained parameters it goes lower: {:.4f} at alpha {:.3g}\n", beyond->second, beyond->first);
}

int landscape(const std::string& run, const LandscapeOptions& o) {
  const fs::path initial = fs::path(run) / "initial-variables.bin";
  if (!fs::exists(initial)) {
    throw UsageError(fmt::format("'{}' has no initial-variables.bin (runs keep it since symgrad landscape exists): train "
                                 "the experiment again",
                                 run));
  }
  LoadedRun r = load_run_model(run);
  Trainer& trainer = *r.trainer;
  const bool has_validation = r.data.validation.size() > 0;
  const std::string held_name = has_validation ? "validation" : "test";
  const Dataset train = sample(r.data.train, o.examples, o.seed), held = sample(has_validation ? r.data.validation : r.data.test, o.examples, o.seed + 1);
  auto f = trainer.batch_objective(train, o.seed), g = trainer.batch_objective(held, o.seed);
  const std::vector<double> x1 = f->current();
  trainer.load_variables(initial.string());
  const std::vector<double> x0 = f->current();
  fmt::print("landscape of {}: {} parameters; the objective on {} training and {} {} examples\n", run, x0.size(),
             train.size(), held.size(), held_name);
  const std::string title = r.experiment.name;
  print_line(draw_line(*f, *g, held_name, x0, x1, o, title));
  // the plane through the trained point: x1 + a (x0 - x1) + b d
  const std::vector<double> u = axpy(x0, -1.0, x1);
  const std::vector<double> d = filter_normalized(trainer.parameters(), x1, u, o.seed + 2);
  std::vector<double> x(x1.size());
  auto at = [&](double a, double b) {
    axpy_into(x, x1, a, u);
    add_scaled(x, b, d);
    return f->value(x);
  };
  PlotPath path{"the line from the initial parameters (1, 0) to the trained ones (0, 0)", {}};
  for (int i = 0; i <= 20; ++i) path.points.push_back({1 - i / 20.0, 0});
  const std::string plane = (fs::path(o.output) / "landscape-plane.svg").string();
  plot_contours(plane, title + ": training objective on the plane through the initial and trained parameters", at, {path},
                {{-0.4, -0.8}, {1.4, 0.8}}, {"towards the initial parameters", "filter-normalized random direction"}, o.grid);
  fmt::print("plots: {}, {} (data: {})\n", (fs::path(o.output) / "landscape-line.svg").string(), plane,
             (fs::path(o.output) / "landscape-line.csv").string());
  return kOk;
}

}  // namespace

int landscape_command(const std::vector<std::string>& args) {
  po::options_description opts(
      "usage: symgrad landscape RUN_DIR [--examples N] [--points N] [--grid N] [--seed S] [--output DIR]\n"
      "The loss surface around a trained model (its run folder's initial-variables.bin and variables.bin):\n"
      "the training objective (loss and penalties) and the held-out loss along the line from the initial\n"
      "to the trained parameters, alpha from -0.5 to 1.5 (landscape-line.svg and .csv), and the training\n"
      "objective on the plane through both, spanned by that line and a filter-normalized random direction\n"
      "(landscape-plane.svg). Options");
  LandscapeOptions o;
  std::int64_t seed = 0;
  opts.add_options()("help,h", "this help")("examples", po::value(&o.examples)->default_value(2000),
                                            "examples of each set the objective is measured on (0: all)")(
      "points", po::value(&o.points)->default_value(41), "points on the line")(
      "grid", po::value(&o.grid)->default_value(25), "points on a side of the plane's grid")(
      "seed", po::value(&seed)->default_value(0), "the samples and the random direction")(
      "output", po::value(&o.output), "where the plots go (default: the run folder)");
  std::string run;
  po::variables_map vm;
  if (parse_with_positional(args, opts, vm, "run folder", run, "landscape")) return kOk;
  if (o.examples < 0) throw UsageError(fmt::format("--examples {}: a count of examples, or 0 for all", o.examples));
  if (o.points < 3 || o.points > 10001) throw UsageError(fmt::format("--points {}: from 3 to 10001", o.points));
  if (o.grid < 3 || o.grid > 401) throw UsageError(fmt::format("--grid {}: from 3 to 401", o.grid));
  if (seed < 0) throw UsageError(fmt::format("--seed {}: a seed is not negative", seed));
  o.seed = static_cast<std::uint64_t>(seed);
  if (o.output.empty()) o.output = run;
  if (!fs::is_directory(o.output)) throw UsageError(fmt::format("--output '{}' is not a folder", o.output));
  return landscape(run, o);
}

}  // namespace symgrad::cli
