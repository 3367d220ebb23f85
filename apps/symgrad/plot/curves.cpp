#include "curves.hpp"

#include <filesystem>
#include <fstream>
#include <algorithm>
#include <sstream>

#include <fmt/ranges.h>

#include <fmt/format.h>

#include "gnuplot.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad::cli {

namespace fs = std::filesystem;

void plot_curves(const std::string& file, const std::string& title, const std::string& ylabel,
                 const std::vector<CurveRun>& runs, const std::vector<std::string>& columns) {
  const std::string terminal = terminal_for(file);
  std::string plots;
  for (const auto& run : runs) {
    std::ifstream in(run.epochs_csv);
    std::string header;
    if (!std::getline(in, header)) throw Error(fmt::format("'{}' has no metrics", run.epochs_csv));
    std::vector<std::string> names;
    std::stringstream h(header);
    for (std::string n; std::getline(h, n, ',');) names.push_back(n);
    for (const auto& c : columns) {
      const auto at = std::find(names.begin(), names.end(), c);
      if (at == names.end()) continue;  // e.g. no validation data
      const auto index = at - names.begin() + 1;
      const std::string label = runs.size() == 1 ? c : fmt::format("{} {}", run.label, c);
      plots += fmt::format("{}{} every ::1 using 1:{} with linespoints pt 7 ps 0.5 title {}", plots.empty() ? "" : ", ",
                           gnuplot_string(run.epochs_csv, "metrics file"), index, gnuplot_string(label, "label"));
    }
  }
  if (plots.empty()) throw Error(fmt::format("no column of [{}] in the runs' metrics", fmt::join(columns, ", ")));
  const ScratchDir scratch;
  const fs::path script_file = scratch.path() / "plot.gp";
  {
    std::ostringstream script;
    script << terminal << "set output " << gnuplot_string(file, "plot file") << "\n"
           << "set datafile separator ','\nset title " << gnuplot_string(title, "title") << " noenhanced\nset key noenhanced\n"
           << "set xlabel 'epoch'\nset ylabel " << gnuplot_string(ylabel, "label") << "\nset grid\n"
           << "plot " << plots << "\n";
    write_scratch_file(script_file, script.str());
  }
  run_gnuplot(script_file, file);
}

}  // namespace symgrad::cli
