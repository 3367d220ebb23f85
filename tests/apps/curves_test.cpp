// Training curves as they teach (apps/symgrad/plot/curves.hpp): values over decades on a log axis,
// a legend below the axes, and thousands of points drawn as lines thinned to a picture of a
// sensible size.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "plot/curves.hpp"
#include "plot/gnuplot.hpp"
#include "symgrad/core/error.hpp"

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

// Runs whose x ends decades apart (a full batch's 30 steps beside a batch of one's 24000) share a
// log x axis; runs that end alike keep a linear one. A column to draw against that a file lacks is
// an error naming the file and the column.
TEST(Curves, RunsEndingDecadesApartGoOnALogXAxis) {
  const ScratchDir dir;
  const auto steps = [&](const std::string& name, int every) {
    const fs::path p = dir.path() / name;
    std::ofstream out(p);
    out << "epoch,val_loss,step\n";
    for (int e = 1; e <= 30; ++e) out << e << "," << 1.0 / e << "," << e * every << "\n";
    return p.string();
  };
  const std::vector<CurveRun> apart = {{"one", steps("one.csv", 800)}, {"full", steps("full.csv", 1)}};
  plot_curves((dir.path() / "apart.svg").string(), "loss", "loss", apart, {"val_loss"}, "step");
  EXPECT_NE(read(dir.path() / "apart.svg").find("step (optimizer steps since training began) (log scale)"), std::string::npos);
  plot_curves((dir.path() / "alike.svg").string(), "loss", "loss", {apart[0], {"half", steps("half.csv", 400)}}, {"val_loss"},
              "step");
  EXPECT_NE(read(dir.path() / "alike.svg").find("step (optimizer steps since training began)"), std::string::npos);
  EXPECT_EQ(read(dir.path() / "alike.svg").find("since training began) (log scale)"), std::string::npos);
  // epochs on a linear axis however long the runs (every run ends at the same epoch)
  plot_curves((dir.path() / "epochs.svg").string(), "loss", "loss", apart, {"val_loss"});
  EXPECT_EQ(read(dir.path() / "epochs.svg").find("epoch (log scale)"), std::string::npos);
  const std::vector<CurveRun> old = {{"old", metrics(dir.path(), "old.csv", 3, 1, 0.5).string()}};
  try {
    plot_curves((dir.path() / "old.svg").string(), "loss", "loss", old, {"val_loss"}, "elapsed");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("old.csv' has no column 'elapsed' to draw against"), std::string::npos) << e.what();
  }
}

TEST(Curves, ManyPointsMakeASmallPicture) {
  const ScratchDir dir;
  const std::vector<CurveRun> runs = {{"long", metrics(dir.path(), "long.csv", 20000, 2, 0.1).string()}};
  plot_curves((dir.path() / "long.svg").string(), "loss", "loss", runs, {"train_loss", "val_loss"});
  EXPECT_LT(fs::file_size(dir.path() / "long.svg"), 200000u);
  EXPECT_NE(read(dir.path() / "long.svg").find("train_loss"), std::string::npos);  // the legend
}

// A value measured every 4 steps (empty cells between) in a panel of its own for each column: the
// points are joined across the empty cells, and every run is in every panel.
TEST(Curves, StepReportsGetAPanelEachWithEveryRun) {
  const ScratchDir dir;
  auto steps = [&](const std::string& name, double scale) {
    std::ofstream out(dir.path() / name);
    out << "epoch,step,loss,probe/big,probe/small\n";
    for (int s = 1; s <= 12; ++s) {
      out << 1 << "," << s << "," << 1.0 / s << ",";
      if (s % 4 == 0) out << scale * 100 * s << "," << scale * 0.001 * s;
      else out << ",";
      out << "\n";
    }
    return (dir.path() / name).string();
  };
  const std::vector<CurveRun> runs = {{"lr=0.5", steps("a.csv", 1)}, {"lr=4", steps("b.csv", 2)}};
  const fs::path file = dir.path() / "probe.svg";
  plot_panels(file.string(), "probe", runs, {"probe/big", "probe/small", "probe/absent"});
  const std::string svg = read(file);
  for (const char* text : {"probe/big", "probe/small", "lr=0.5", "lr=4"}) EXPECT_NE(svg.find(text), std::string::npos) << text;
  EXPECT_EQ(svg.find("probe/absent"), std::string::npos);
  // one polyline of 3 points per run and panel, "M x,y L x,y L x,y" (a path may also hold the
  // legend's sample line, a segment "M x,y L x,y" of its own)
  std::size_t lines = 0;
  for (std::size_t at = svg.find("d='M"); at != std::string::npos; at = svg.find("d='M", at + 1)) {
    std::stringstream d(svg.substr(at + 4, svg.find('\'', at + 3) - at - 4));
    for (std::string segment; std::getline(d, segment, 'M');) {
      if (std::count(segment.begin(), segment.end(), 'L') == 2) ++lines;
    }
  }
  EXPECT_GE(lines, 4u);  // (an axis may draw one too)
  EXPECT_THROW(plot_panels(file.string(), "probe", runs, {"probe/absent"}), Error);
}

}  // namespace
}  // namespace symgrad::cli
