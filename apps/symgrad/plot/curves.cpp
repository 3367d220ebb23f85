#include "curves.hpp"

#include <filesystem>
#include <fstream>
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include <fmt/ranges.h>

#include <fmt/format.h>

#include "gnuplot.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad::cli {

namespace fs = std::filesystem;

namespace {

// The values of column `index` (0-based) of a CSV file with a header (empty cells skipped).
std::vector<double> column_values(const std::string& file, std::size_t index) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  std::vector<double> out;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string cell;
    for (std::size_t c = 0; c <= index && std::getline(row, cell, ','); ++c) {
      if (c != index || cell.empty()) continue;
      char* end = nullptr;
      const double v = std::strtod(cell.c_str(), &end);
      if (*end == '\0' && std::isfinite(v)) out.push_back(v);
    }
  }
  return out;
}

// The x axis' label: the column's name, said in full for the run-wide clocks.
std::string x_label(const std::string& x) {
  if (x == "step") return "step (optimizer steps since training began)";
  if (x == "elapsed") return "elapsed (seconds since training began)";
  return x;
}

}  // namespace

std::vector<double> metrics_column(const std::string& csv, const std::string& column) {
  std::ifstream in(csv);
  std::string header;
  if (!std::getline(in, header)) return {};
  std::stringstream h(header);
  std::size_t index = 0;
  for (std::string n; std::getline(h, n, ','); ++index) {
    if (n == column) return column_values(csv, index);
  }
  return {};
}

void check_epochs_axis(const std::string& option, const std::string& x) {
  if (x != "epoch" && x != "step" && x != "elapsed") {
    throw UsageError(fmt::format("{} must be epoch, step or elapsed, got '{}'", option, x));
  }
}

std::string comparison_file(const std::string& dir, const std::string& column, const std::string& x) {
  return (fs::path(dir) / (column + (x == "epoch" ? "" : "-" + x) + ".svg")).string();
}

void plot_curves(const std::string& file, const std::string& title, const std::string& ylabel,
                 const std::vector<CurveRun>& runs, const std::vector<std::string>& columns, const std::string& x) {
  const std::string terminal = terminal_for(file);
  std::string plots;
  std::vector<double> values;
  std::size_t most = 0;
  std::vector<std::string> series;
  std::vector<double> x_spans;  // each run's last x
  for (const auto& run : runs) {
    std::ifstream in(run.epochs_csv);
    std::string header;
    if (!std::getline(in, header)) throw Error(fmt::format("'{}' has no metrics", run.epochs_csv));
    std::vector<std::string> names;
    std::stringstream h(header);
    for (std::string n; std::getline(h, n, ',');) names.push_back(n);
    const auto x_at = std::find(names.begin(), names.end(), x);
    if (x_at == names.end()) {
      throw UsageError(fmt::format("'{}' has no column '{}' to draw against (columns: {})", run.epochs_csv, x,
                                   fmt::join(names, ", ")));
    }
    const auto x_index = x_at - names.begin() + 1;
    const auto xs = column_values(run.epochs_csv, static_cast<std::size_t>(x_index - 1));
    if (!xs.empty()) x_spans.push_back(*std::max_element(xs.begin(), xs.end()));
    for (const auto& c : columns) {
      const auto at = std::find(names.begin(), names.end(), c);
      if (at == names.end()) continue;  // e.g. no validation data
      const auto index = at - names.begin() + 1;
      const auto v = column_values(run.epochs_csv, static_cast<std::size_t>(index - 1));
      values.insert(values.end(), v.begin(), v.end());
      most = std::max(most, v.size());
      const std::string label = runs.size() == 1 ? c : fmt::format("{} {}", run.label, c);
      series.push_back(fmt::format("{} every EVERY::1 using {}:{} with STYLE title {}",
                                   gnuplot_string(run.epochs_csv, "metrics file"), x_index, index,
                                   gnuplot_string(label, "label")));
    }
  }
  if (series.empty()) throw Error(fmt::format("no column of [{}] in the runs' metrics", fmt::join(columns, ", ")));
  // markers on a few points; lines alone on many (a marker each would make a file of megabytes)
  const std::string style = most <= 60 ? "linespoints pt 7 ps 0.5" : "lines lw 1.5";
  const std::string every = std::to_string(std::max<std::size_t>(1, (most + 1999) / 2000));  // at most ~2000 points a curve
  for (auto& p : series) {
    p.replace(p.find("STYLE"), 5, style);
    p.replace(p.find("EVERY"), 5, every);
    plots += (plots.empty() ? "" : ", ") + p;
  }
  // values over decades (a large start beside a small end) on a log axis, where all are positive
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  const bool log = !values.empty() && *lo > 0 && *hi / *lo >= 100;
  // runs whose x ends decades apart (a full batch's 30 steps beside a batch of one's 24000) on a
  // log x axis, else the short one is squeezed into the corner
  const auto [x_lo, x_hi] = std::minmax_element(x_spans.begin(), x_spans.end());
  const bool log_x = !x_spans.empty() && *x_lo > 0 && *x_hi / *x_lo >= 30;
  const ScratchDir scratch;
  const fs::path script_file = scratch.path() / "plot.gp";
  {
    std::ostringstream script;
    script << terminal << "set output " << gnuplot_string(file, "plot file") << "\n"
           << "set datafile separator ','\nset title " << gnuplot_string(title, "title") << " noenhanced\n"
           << "set key below noenhanced\n"  // (below the axes: a legend never covers a curve)
           << "set xlabel " << gnuplot_string(log_x ? x_label(x) + " (log scale)" : x_label(x), "label") << "\nset ylabel "
           << gnuplot_string(log ? ylabel + " (log scale)" : ylabel, "label") << "\nset grid\n"
           << (log ? "set logscale y\n" : "") << (log_x ? "set logscale x\n" : "") << "plot " << plots << "\n";
    write_scratch_file(script_file, script.str());
  }
  run_gnuplot(script_file, file);
}

namespace {

// A CSV file's column names, from its header.
std::vector<std::string> header_of(const std::string& csv) {
  std::ifstream in(csv);
  std::string header;
  if (!std::getline(in, header)) throw Error(fmt::format("'{}' has no metrics", csv));
  std::vector<std::string> names;
  std::stringstream h(header);
  for (std::string n; std::getline(h, n, ',');) names.push_back(n);
  return names;
}

}  // namespace

void plot_panels(const std::string& file, const std::string& title, const std::vector<CurveRun>& runs,
                 const std::vector<std::string>& columns, const std::string& x) {
  const std::string ext = fs::path(file).extension().string();
  if (ext != ".svg" && ext != ".png") throw UsageError(fmt::format("'{}': a plot file ends in .svg or .png", file));
  std::vector<std::vector<std::string>> names;
  for (const auto& run : runs) names.push_back(header_of(run.epochs_csv));
  std::vector<std::string> panels;  // the columns some run has
  for (const auto& c : columns) {
    for (const auto& n : names) {
      if (std::find(n.begin(), n.end(), c) != n.end()) {
        panels.push_back(c);
        break;
      }
    }
  }
  if (panels.empty()) throw Error(fmt::format("no column of [{}] in the runs' metrics", fmt::join(columns, ", ")));
  const std::size_t across = panels.size() > 4 ? 2 : 1, down = (panels.size() + across - 1) / across;
  const ScratchDir scratch;
  const fs::path script_file = scratch.path() / "plot.gp";
  std::ostringstream script;
  script << fmt::format("set terminal {} size {},{}{}\n", ext == ".svg" ? "svg" : "png", across == 1 ? 800 : 1000,
                        60 + 220 * down, ext == ".svg" ? " dynamic font 'sans,10'" : "")
         << "set output " << gnuplot_string(file, "plot file") << "\n"
         << "set datafile separator ','\nset grid\n"
         << (runs.size() > 1 ? "set key top left noenhanced font ',8'\n" : "unset key\n")
         << fmt::format("set multiplot layout {},{} title {} noenhanced\n", down, across, gnuplot_string(title, "title"));
  for (const auto& column : panels) {
    script << "set title " << gnuplot_string(column, "label") << " noenhanced\nset xlabel " << gnuplot_string(x, "label")
           << "\nplot ";
    bool first = true;
    for (std::size_t r = 0; r < runs.size(); ++r) {
      const auto at = std::find(names[r].begin(), names[r].end(), column);
      if (at == names[r].end()) continue;
      const auto x_at = std::find(names[r].begin(), names[r].end(), x);
      script << (first ? "" : ", ") << gnuplot_string(runs[r].epochs_csv, "metrics file")
             << fmt::format(" using {}:{} with linespoints pt 7 ps 0.4 title ", x_at == names[r].end() ? 1 : x_at - names[r].begin() + 1,
                            at - names[r].begin() + 1)
             << gnuplot_string(runs[r].label, "label");
      first = false;
    }
    script << "\n";
  }
  script << "unset multiplot\n";
  write_scratch_file(script_file, script.str());
  run_gnuplot(script_file, file);
}

}  // namespace symgrad::cli
