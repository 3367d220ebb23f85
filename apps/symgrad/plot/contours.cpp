#include "contours.hpp"

#include "gnuplot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <limits>

#include <unistd.h>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

namespace symgrad::cli {

namespace fs = std::filesystem;

void plot_contours(const std::string& file, const std::string& title, const std::function<double(double, double)>& f,
                   const std::vector<PlotPath>& paths, const std::vector<std::vector<double>>& extra,
                   const std::array<std::string, 2>& axes, int grid_size) {
  terminal_for(file);  // a .svg or .png file, checked before any work
  // The box: every finite point of the paths and the extra points, padded.
  double lo[2] = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  double hi[2] = {-lo[0], -lo[1]};
  auto take = [&](const std::vector<double>& p) {
    if (p.size() < 2 || !std::isfinite(p[0]) || !std::isfinite(p[1])) return;
    for (int k = 0; k < 2; ++k) lo[k] = std::min(lo[k], p[k]), hi[k] = std::max(hi[k], p[k]);
  };
  for (const auto& path : paths) for (const auto& p : path.points) take(p);
  for (const auto& p : extra) take(p);
  for (int k = 0; k < 2; ++k) {
    if (!std::isfinite(lo[k])) lo[k] = -1, hi[k] = 1;
    const double span = std::max(hi[k] - lo[k], 1.0);
    lo[k] -= 0.15 * span, hi[k] += 0.15 * span;
  }
  const ScratchDir scratch;
  const fs::path& dir = scratch.path();
  // The grid, and contour levels at quantiles of its values (they follow the function's scale).
  const int n = std::max(grid_size, 2);
  std::vector<double> values;
  {
    std::string grid;
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        const double x = lo[0] + (hi[0] - lo[0]) * i / (n - 1), y = lo[1] + (hi[1] - lo[1]) * j / (n - 1);
        const double v = f(x, y);
        grid += fmt::format("{:.10g} {:.10g} {:.10g}\n", x, y, v);
        if (std::isfinite(v)) values.push_back(v);
      }
      grid += "\n";
    }
    write_scratch_file(dir / "grid.dat", grid);
  }
  std::sort(values.begin(), values.end());
  std::string levels;
  for (int q = 1; q <= 18 && !values.empty(); ++q) {
    const double u = std::pow(q / 19.0, 2.0);  // denser near the minimum
    const double v = values[static_cast<std::size_t>(u * static_cast<double>(values.size() - 1))];
    levels += fmt::format("{}{:.6g}", levels.empty() ? "" : ",", v);
  }
  std::string plots = fmt::format("{} with lines lc rgb '#b0b0b0' notitle", gnuplot_string((dir / "contours.dat").string(), "path"));
  for (std::size_t r = 0; r < paths.size(); ++r) {
    const fs::path data = dir / fmt::format("path{}.dat", r);
    std::string points;
    for (const auto& p : paths[r].points) {
      if (p.size() >= 2 && std::isfinite(p[0]) && std::isfinite(p[1])) points += fmt::format("{:.10g} {:.10g}\n", p[0], p[1]);
    }
    write_scratch_file(data, points);
    // markers on at most about 60 points of a path (a marker at each of thousands of steps would make
    // a file of megabytes), the line through all of them
    const std::size_t every = std::max<std::size_t>(1, (paths[r].points.size() + 59) / 60);
    plots += fmt::format(", {} with linespoints pt 7 ps 0.4 lw 1.5 pi {} title {}", gnuplot_string(data.string(), "path"),
                         every, gnuplot_string(paths[r].label, "label"));
  }
  {
    std::ostringstream script;
    script << "set table " << gnuplot_string((dir / "contours.dat").string(), "path") << "\n"
           << "set view map\nunset surface\nset contour base\n"
           << (levels.empty() ? "" : "set cntrparam levels discrete " + levels + "\n")
           << "splot " << gnuplot_string((dir / "grid.dat").string(), "path") << " with lines\nunset table\nreset\n"
           << terminal_for(file)
           << "set output " << gnuplot_string(file, "plot file") << "\n"
           << "set title " << gnuplot_string(title, "title") << " noenhanced\nset key below noenhanced\n"
           << fmt::format("set xrange [{}:{}]\nset yrange [{}:{}]\n", lo[0], hi[0], lo[1], hi[1])
           << "set xlabel " << gnuplot_string(axes[0], "axis") << "\nset ylabel " << gnuplot_string(axes[1], "axis") << "\n"
           << "plot " << plots << "\n";
    write_scratch_file(dir / "plot.gp", script.str());
  }
  run_gnuplot(dir / "plot.gp", file);
}

}  // namespace symgrad::cli
