// Training curves as they teach (apps/symgrad/plot/curves.hpp): values over decades on a log axis,
// a legend below the axes, and thousands of points drawn as lines thinned to a picture of a
// sensible size.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "plot/curves.hpp"
#include "plot/gnuplot.hpp"

namespace symgrad::cli {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A metrics file of `rows` epochs whose loss falls from `first` to about `last`.
fs::path metrics(const fs::path& dir, const std::string& name, int rows, double first, double last) {
  const fs::path p = dir / name;
  std::ofstream out(p);
  out << "epoch,train_loss,val_loss\n";
  for (int e = 1; e <= rows; ++e) {
    const double t = (e - 1.0) / std::max(rows - 1, 1);
    out << e << "," << first * std::pow(last / first, t) << "," << 1.1 * first * std::pow(last / first, t) << "\n";
  }
  return p;
}

TEST(Curves, DecadesGoOnALogAxis) {
  const ScratchDir dir;
  // zeros against a large initialization: 620 down to 0.7 beside 0.7 down to 0.3
  const std::vector<CurveRun> runs = {{"large", metrics(dir.path(), "a.csv", 30, 620, 0.7).string()},
                                      {"zeros", metrics(dir.path(), "b.csv", 30, 0.7, 0.3).string()}};
  plot_curves((dir.path() / "wide.svg").string(), "loss", "loss", runs, {"val_loss"});
  EXPECT_NE(read(dir.path() / "wide.svg").find("loss (log scale)"), std::string::npos);
  plot_curves((dir.path() / "narrow.svg").string(), "loss", "loss", {runs[1]}, {"val_loss"});
  EXPECT_EQ(read(dir.path() / "narrow.svg").find("log scale"), std::string::npos);
}

TEST(Curves, ManyPointsMakeASmallPicture) {
  const ScratchDir dir;
  const std::vector<CurveRun> runs = {{"long", metrics(dir.path(), "long.csv", 20000, 2, 0.1).string()}};
  plot_curves((dir.path() / "long.svg").string(), "loss", "loss", runs, {"train_loss", "val_loss"});
  EXPECT_LT(fs::file_size(dir.path() / "long.svg"), 200000u);
  EXPECT_NE(read(dir.path() / "long.svg").find("train_loss"), std::string::npos);  // the legend
}

}  // namespace
}  // namespace symgrad::cli
