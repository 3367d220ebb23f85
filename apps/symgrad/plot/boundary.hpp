#pragma once
// Decision boundaries of classifiers on 2-D data (the course's figure): each model's class over a
// grid of the plane, shaded, under the training examples coloured by their class; several models
// side by side (symgrad compare).

#include <array>
#include <string>
#include <vector>

namespace symgrad::cli {

struct Boundary {
  std::string label;                // the panel's title
  std::array<double, 2> lo{}, hi{};  // the grid's box
  int n = 0;                        // points along each side
  /// The class at grid point (i, j): x = lo[0] + (hi[0] - lo[0]) i / (n - 1), y likewise with j;
  /// at [i * n + j].
  std::vector<int> classes;
  std::vector<std::array<double, 3>> points;  // training examples: x, y, class
  int num_classes = 0;

  /// The grid as CSV: "x0,x1,class" then a row per grid point (what the picture shades).
  std::string grid_csv() const;
};

/// Draws the boundaries side by side into `file` (.svg or .png).
void plot_boundaries(const std::string& file, const std::string& title, const std::vector<Boundary>& panels);

}  // namespace symgrad::cli
