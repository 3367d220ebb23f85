#include "boundary.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

#include "gnuplot.hpp"

namespace symgrad::cli {

namespace fs = std::filesystem;

namespace {

// Light shades for the regions, dark ones for the examples, a pair per class (repeating after 8).
constexpr const char* kLight[] = {"#c6dbef", "#fdd0a2", "#c7e9c0", "#fcbba1", "#dadaeb", "#d9d9d9", "#fde0ef", "#ffffcc"};
constexpr const char* kDark[] = {"#2171b5", "#d94801", "#238b45", "#cb181d", "#6a51a3", "#525252", "#ce1256", "#b8a000"};

}  // namespace

std::string Boundary::grid_csv() const {
  std::string out = "x0,x1,class\n";
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      out += fmt::format("{:.6g},{:.6g},{}\n", lo[0] + (hi[0] - lo[0]) * i / (n - 1), lo[1] + (hi[1] - lo[1]) * j / (n - 1),
                         classes[static_cast<std::size_t>(i * n + j)]);
    }
  }
  return out;
}

void plot_boundaries(const std::string& file, const std::string& title, const std::vector<Boundary>& panels) {
  std::string terminal = terminal_for(file);
  const auto k = static_cast<int>(panels.size());
  const std::string size = fmt::format("size {},{}", 420 * k, 460);  // square panels side by side
  terminal.replace(terminal.find("size 800,560"), 12, size);
  const ScratchDir scratch;
  std::ostringstream script;
  script << terminal << "set output " << gnuplot_string(file, "plot file") << "\n"
         << "set multiplot layout 1," << k << " title " << gnuplot_string(title, "title") << " noenhanced\n"
         << "unset colorbox\nset key off\nset xlabel 'x0'\nset ylabel 'x1'\nset size ratio -1\n";
  int classes = 1;
  for (const auto& b : panels) classes = std::max(classes, b.num_classes);
  script << "set cbrange [-0.5:" << classes - 0.5 << "]\nset palette maxcolors " << classes << "\nset palette defined (";
  for (int c = 0; c < classes; ++c) script << (c ? ", " : "") << c << " '" << kLight[c % 8] << "'";
  script << ")\n";
  for (int c = 0; c < classes; ++c) script << "set linetype " << c + 1 << " lc rgb '" << kDark[c % 8] << "'\n";
  for (std::size_t p = 0; p < panels.size(); ++p) {
    const Boundary& b = panels[p];
    const fs::path grid = scratch.path() / fmt::format("grid{}.dat", p), points = scratch.path() / fmt::format("points{}.dat", p);
    std::string g, pts;
    for (int i = 0; i < b.n; ++i) {
      for (int j = 0; j < b.n; ++j) {
        g += fmt::format("{:.6g} {:.6g} {}\n", b.lo[0] + (b.hi[0] - b.lo[0]) * i / (b.n - 1),
                         b.lo[1] + (b.hi[1] - b.lo[1]) * j / (b.n - 1), b.classes[static_cast<std::size_t>(i * b.n + j)]);
      }
      g += "\n";
    }
    for (const auto& q : b.points) pts += fmt::format("{:.6g} {:.6g} {}\n", q[0], q[1], static_cast<int>(q[2]) + 1);
    write_scratch_file(grid, g);
    write_scratch_file(points, pts);
    script << "set title " << gnuplot_string(b.label, "title") << " noenhanced\n"
           << fmt::format("set xrange [{}:{}]\nset yrange [{}:{}]\n", b.lo[0], b.hi[0], b.lo[1], b.hi[1])
           << "plot " << gnuplot_string(grid.string(), "path") << " using 1:2:3 with image, "
           << gnuplot_string(points.string(), "path") << " using 1:2:3 with points pt 7 ps 0.45 lc variable\n";
  }
  script << "unset multiplot\n";
  write_scratch_file(scratch.path() / "plot.gp", script.str());
  run_gnuplot(scratch.path() / "plot.gp", file);
}

}  // namespace symgrad::cli
