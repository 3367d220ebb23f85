// Values the plugins report reach the metrics files under the plugin's name, through the real
// loader: each penalty's value (automatic), a statistic of the step (StepContext::report, max_norm's
// fraction of projected units) and a callback's value (TrainEvent::report, curriculum's fraction of
// the examples); a column that starts late gives the rows before it empty cells.

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "symgrad/data/synthetic.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {
namespace {

// A CSV file as columns of cells (an empty cell stays "").
std::map<std::string, std::vector<std::string>> read_csv(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  std::vector<std::string> names;
  std::stringstream h(line);
  for (std::string n; std::getline(h, n, ',');) names.push_back(n);
  std::map<std::string, std::vector<std::string>> columns;
  while (std::getline(in, line)) {
    std::stringstream row(line + ",");  // (a last empty cell still counts)
    std::string cell;
    for (const auto& n : names) {
      std::getline(row, cell, ',');
      columns[n].push_back(cell);
    }
  }
  return columns;
}

TEST(PluginReports, PenaltiesStepStatisticsAndCallbackValuesReachTheMetricsFiles) {
  testing::TempDir dir;
  TrainerOptions o;
  o.epochs = 3;
  o.batch_size = 50;
  o.optimizer = "sgd";
  o.optimizer_settings = {{"lr", 0.5}};
  o.output_dir = dir.path.string();
  Sequential model;
  model.dense(8, "relu").dense(2);
  Trainer trainer(model, {DType::f32, Shape{2}}, 2, o);
  auto& plugins = PluginRegistry::global();
  auto l2 = plugins.make_regularizer("l2", {{"lambda", 0.01}});
  auto max_norm = plugins.make_regularizer("max_norm", {{"c", 0.5}});
  auto curriculum = plugins.make_strategy("curriculum", {{"start_fraction", 0.5}, {"widen_epochs", std::int64_t{2}}});
  trainer.add(*l2, "l2");
  trainer.add(*max_norm, "max_norm");
  trainer.add(*curriculum, "curriculum");
  trainer.fit(make_moons(200, 0.1, 3));

  auto steps = read_csv(dir.path / "metrics-steps.csv");
  ASSERT_TRUE(steps.count("l2/penalty")) << "no penalty column";
  ASSERT_TRUE(steps.count("max_norm/projected")) << "no step statistic column";
  for (std::size_t i = 0; i < steps["loss"].size(); ++i) {
    // the only penalty is l2's: objective = loss + its value
    const double loss = std::stod(steps["loss"][i]), objective = std::stod(steps["objective"][i]);
    EXPECT_NEAR(std::stod(steps["l2/penalty"][i]), objective - loss, 1e-5 * objective) << "step " << i + 1;
    const double projected = std::stod(steps["max_norm/projected"][i]);
    EXPECT_GE(projected, 0.0);
    EXPECT_LE(projected, 1.0);
  }
  // radius 0.5 on 2 inputs: He-initialized units start over it, so the first step projects some
  EXPECT_GT(std::stod(steps["max_norm/projected"][0]), 0.0);

  auto epochs = read_csv(dir.path / "metrics-epochs.csv");
  ASSERT_EQ(epochs["epoch"].size(), 3u);
  // the fraction of the examples: 0.5, 0.75, then all of them (widen_epochs = 2)
  EXPECT_EQ(epochs["curriculum/fraction"], (std::vector<std::string>{"0.5", "0.75", "1"}));
  ASSERT_TRUE(epochs.count("l2/penalty") && epochs.count("max_norm/projected"));
  EXPECT_GT(std::stod(epochs["l2/penalty"][0]), 0.0);
}

// A column that appears only from some row on: the header gains it, earlier rows an empty cell.
class LateReporter final : public Strategy {
 public:
  void on_epoch_end(TrainEvent& e) override {
    if (e.epoch >= 2) e.report("late", static_cast<double>(e.epoch));
  }
};

TEST(PluginReports, AColumnThatStartsLateLeavesEarlierCellsEmpty) {
  testing::TempDir dir;
  TrainerOptions o;
  o.epochs = 3;
  o.batch_size = 100;
  o.optimizer = "sgd";
  o.output_dir = dir.path.string();
  Sequential model;
  model.dense(2);
  Trainer trainer(model, {DType::f32, Shape{2}}, 2, o);
  LateReporter late;
  trainer.add(late, "watch");
  trainer.fit(make_moons(100, 0.1, 3));
  auto epochs = read_csv(dir.path / "metrics-epochs.csv");
  EXPECT_EQ(epochs["watch/late"], (std::vector<std::string>{"", "2", "3"}));
  EXPECT_EQ(epochs["epoch"], (std::vector<std::string>{"1", "2", "3"}));
}

// A name that would break the CSV (a comma) or the plot is refused, naming it.
TEST(PluginReports, ANameThatWouldBreakTheCsvIsRefused) {
  TrainEvent e;
  EXPECT_THROW(e.report("a,b", 1.0), UsageError);
  EXPECT_THROW(e.report("", 1.0), UsageError);
  e.source = "watch";
  e.report("fine/name_1.x", 2.0);
  EXPECT_EQ(e.reports.back().first, "watch/fine/name_1.x");
}

}  // namespace
}  // namespace symgrad
