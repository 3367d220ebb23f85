#pragma once
// Contour plots of a 2-D function with optimizer paths, drawn by gnuplot (Debian's gnuplot-nox).

#include <array>
#include <functional>
#include <string>
#include <vector>

namespace symgrad::cli {

struct PlotPath {
  std::string label;
  std::vector<std::vector<double>> points;  // (x0, x1) per step
};

/// Draws the contours of f over a box around the paths (and `extra` points) and the paths on
/// one picture, into `file` (.svg or .png), the axes named `axes`. A path of many steps is drawn as
/// a line with markers on at most about 60 of its points. Throws Error if gnuplot fails or is
/// missing. f is evaluated on a `grid` x `grid` lattice.
void plot_contours(const std::string& file, const std::string& title, const std::function<double(double, double)>& f,
                   const std::vector<PlotPath>& paths, const std::vector<std::vector<double>>& extra,
                   const std::array<std::string, 2>& axes = {"x0", "x1"}, int grid = 101);

}  // namespace symgrad::cli
