// The strategy plugins polyak and coordinate_descent, through the real loader, on small problems in
// f64 (reference backend) built with the same step builder the trainer uses. Expected values come
// from each plugin's documented formula, worked out here by hand or by a plain loop.

#include <cmath>
#include <memory>

#include <gtest/gtest.h>

#include "symgrad/core/error.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"
#include "support/step_run.hpp"
#include "symgrad/train/training_step.hpp"

namespace symgrad {
namespace {

using testing::StepRun;

Value half_square(Value x) { return 0.5 * sum(square(x)); }  // gradient x

// ---- polyak ---------------------------------------------------------------------------------

// sgd lr 0.5 on x^2 / 2 from 1: theta_t = 0.5^t. The uniform average of theta_1..theta_t is
// evaluated; training keeps the raw iterate.
TEST(Polyak, UniformAverageOfTheIterates) {
  StepRun r(half_square, {1.0}, "sgd", {{"lr", 0.5}}, {{"polyak", {}}});
  double sum = 0;
  for (int t = 1; t <= 6; ++t) {
    const double theta = r.step()[0];
    EXPECT_DOUBLE_EQ(theta, std::pow(0.5, t));
    sum += std::pow(0.5, t);
    EXPECT_NEAR(r.evaluated()[0], sum / t, 1e-15) << "step " << t;
  }
}

// From step 3 on: the average of theta_3..theta_t; before it, the iterate itself.
TEST(Polyak, UniformAverageFromAStartStep) {
  StepRun r(half_square, {1.0}, "sgd", {{"lr", 0.5}}, {{"polyak", {{"start", std::int64_t{3}}}}});
  double sum = 0;
  for (int t = 1; t <= 6; ++t) {
    r.step();
    if (t >= 3) sum += std::pow(0.5, t);
    const double want = t < 3 ? std::pow(0.5, t) : sum / (t - 2);
    EXPECT_NEAR(r.evaluated()[0], want, 1e-15) << "step " << t;
  }
}

// m_t = d m + (1 - d) theta_t from m_0 = 0; with bias correction m_t / (1 - d^t), else m_t.
TEST(Polyak, ExponentialAverageWithAndWithoutBiasCorrection) {
  for (bool correct : {true, false}) {
    StepRun r(half_square, {1.0}, "sgd", {{"lr", 0.5}},
          {{"polyak", {{"mode", std::string("ema")}, {"decay", 0.75}, {"bias_correction", correct}}}});
    double m = 0;
    for (int t = 1; t <= 6; ++t) {
      r.step();
      m = 0.75 * m + 0.25 * std::pow(0.5, t);
      EXPECT_NEAR(r.evaluated()[0], correct ? m / (1 - std::pow(0.75, t)) : m, 1e-15) << "step " << t;
    }
  }
  // with bias correction the first average is the first iterate, without it a quarter of it
  StepRun c(half_square, {1.0}, "sgd", {{"lr", 0.5}}, {{"polyak", {{"mode", std::string("ema")}, {"decay", 0.75}}}});
  c.step();
  EXPECT_DOUBLE_EQ(c.evaluated()[0], 0.5);
}

// The averages are state of the step, under the plugin's name: checkpoints save them.
TEST(Polyak, AveragesAreNamedStateOfTheStep) {
  StepRun r(half_square, {1.0, 2.0}, "adam", {{"lr", 0.1}}, {{"polyak", {}}});
  EXPECT_TRUE(r.store.has("polyak/average/x"));
  EXPECT_EQ(r.built.evaluation_variables.at("x"), "polyak/average/x");
  EXPECT_EQ(r.built.extension_state, std::vector<std::string>{"polyak/average/x"});
}

// ---- coordinate_descent ---------------------------------------------------------------------

// f(x) = 1/2 x^T A x - b^T x, A positive definite: minimum A^-1 b.
const std::vector<double> kA = {4, 1, 0, 1, 3, 1, 0, 1, 2}, kB = {1, 2, 3};
Value quadratic(Value x) {
  Graph& g = *x.graph;
  Value a = g.constant(Tensor::from(DType::f64, Shape{3, 3}, kA));
  Value b = g.constant(Tensor::from(DType::f64, Shape{3}, kB));
  Value ax = reshape(matmul(a, reshape(x, Shape{3, 1})), Shape{3});
  return 0.5 * sum(x * ax) - sum(b * x);
}

// Cyclic single coordinates: step k changes coordinate k mod 3 and nothing else.
TEST(CoordinateDescent, EachStepChangesOneCoordinateInTurn) {
  StepRun r(quadratic, {0, 0, 0}, "sgd", {{"lr", 0.1}}, {{"coordinate_descent", {}}});
  std::vector<double> before = r.store.get("x").to_vector();
  for (int k = 0; k < 9; ++k) {
    const std::vector<double> after = r.step();
    for (int i = 0; i < 3; ++i) {
      if (i == k % 3) {
        EXPECT_NE(after[i], before[i]) << "step " << k;
      } else {
        EXPECT_EQ(after[i], before[i]) << "step " << k << " coordinate " << i;
      }
    }
    before = after;
  }
}

// Exact coordinate minimization is Gauss-Seidel: x_i <- x_i - g_i / A_ii, worked out here from the
// formula, and the sweeps reach A^-1 b.
TEST(CoordinateDescent, ExactUpdatesAreGaussSeidelAndReachTheClosedForm) {
  StepRun r(quadratic, {0, 0, 0}, "sgd", {{"lr", 0.1}}, {{"coordinate_descent", {{"update", std::string("exact")}}}});
  std::vector<double> x = {0, 0, 0};
  for (int k = 0; k < 6; ++k) {
    const int i = k % 3;
    double g = -kB[i];
    for (int j = 0; j < 3; ++j) g += kA[i * 3 + j] * x[j];
    x[i] -= g / kA[i * 3 + i];
    const auto got = r.step();
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(got[j], x[j], 1e-14) << "step " << k;
  }
  for (int k = 0; k < 120; ++k) r.step();
  // A^-1 b by hand: 4x + y = 1, x + 3y + z = 2, y + 2z = 3  ->  y = 3 - 2z, x = (z - 1) / 2,
  // (z - 1) / 2 + 9 - 5z = 2  ->  z = 13/9, y = 1/9, x = 2/9
  const auto got = r.store.get("x").to_vector();
  EXPECT_NEAR(got[0], 2.0 / 9, 1e-12);
  EXPECT_NEAR(got[1], 1.0 / 9, 1e-12);
  EXPECT_NEAR(got[2], 13.0 / 9, 1e-12);
}

// Lasso with orthogonal columns (X^T X = 4 I): the minimizer of 1/2 |Xw - y|^2 + l |w|_1 is
// w_i = S(x_i . y, l) / 4, exact zeros where |x_i . y| <= l; one sweep of exact coordinate
// descent lands on it.
TEST(CoordinateDescent, LassoBySoftThresholdingGivesExactZeros) {
  const std::vector<double> X = {1, 1, 1, 1, -1, 1, 1, 1, -1, 1, -1, -1}, y = {3, 1, 2, 0.5};
  auto lasso_data = [&](Value w) {
    Graph& g = *w.graph;
    Value xs = g.constant(Tensor::from(DType::f64, Shape{4, 3}, X));
    Value ys = g.constant(Tensor::from(DType::f64, Shape{4}, y));
    Value r = reshape(matmul(xs, reshape(w, Shape{3, 1})), Shape{4}) - ys;
    return 0.5 * sum(square(r));
  };
  const double l1 = 2.5;
  // x_i . y = (6.5, 3.5, 1.5) from the columns (1,1,1,1), (1,-1,1,-1), (1,1,-1,-1):
  const double xy[3] = {3 + 1 + 2 + 0.5, 3 - 1 + 2 - 0.5, 3 + 1 - 2 - 0.5};
  StepRun r(lasso_data, {0.3, -0.7, 0.2}, "sgd", {{"lr", 0.1}},
        {{"coordinate_descent", {{"update", std::string("exact")}, {"l1", l1}}}});
  for (int k = 0; k < 3; ++k) r.step();
  const auto w = r.store.get("x").to_vector();
  for (int i = 0; i < 3; ++i) {
    const double s = std::copysign(std::max(std::abs(xy[i]) - l1, 0.0), xy[i]) / 4;
    EXPECT_NEAR(w[i], s, 1e-14) << i;
  }
  EXPECT_EQ(w[2], 0.0);  // |x_3 . y| = 1.5 <= 2.5: exactly zero, not small
  EXPECT_NE(w[0], 0.0);
}

// Greedy (Gauss-Southwell) moves the coordinate with the largest |gradient|.
TEST(CoordinateDescent, GreedyMovesTheLargestGradient) {
  // gradient of 1/2 |x|^2 is x: the largest magnitude is coordinate 1 (-3)
  StepRun r(half_square, {1, -3, 2}, "sgd", {{"lr", 0.5}}, {{"coordinate_descent", {{"order", std::string("greedy")}}}});
  EXPECT_EQ(r.step(), (std::vector<double>{1, -1.5, 2}));
  EXPECT_EQ(r.step(), (std::vector<double>{1, -1.5, 1}));
}

// Greedy unit blocks on a dense weight [in = 2, units = 3]: the gradient of 1/2 |x|^2 is x, the
// largest magnitude (3) is in column 1, so that unit (the whole column) moves and the others do not.
TEST(CoordinateDescent, GreedyUnitsMoveTheColumnWithTheLargestGradient) {
  StepRun r(half_square, {1, -3, 0.5, 2, 0.1, 0.2}, "sgd", {{"lr", 0.5}},
            {{"coordinate_descent", {{"order", std::string("greedy")}, {"block", std::string("unit")}}}}, {}, Shape{2, 3});
  EXPECT_EQ(r.step(), (std::vector<double>{1, -1.5, 0.5, 2, 0.05, 0.2}));
  // now the largest is 2 (column 0): column 0 moves
  EXPECT_EQ(r.step(), (std::vector<double>{0.5, -1.5, 0.5, 1, 0.05, 0.2}));
}

// Random order: a block a step, drawn from the seed and the step (the same run twice agrees).
TEST(CoordinateDescent, RandomOrderIsReproducible) {
  auto path = [] {
    StepRun r(quadratic, {0, 0, 0}, "sgd", {{"lr", 0.1}}, {{"coordinate_descent", {{"order", std::string("random")}}}});
    std::vector<std::vector<double>> p;
    for (int k = 0; k < 12; ++k) p.push_back(r.step());
    return p;
  };
  EXPECT_EQ(path(), path());
}

// Whole-parameter blocks: with two parameters, steps alternate between them.
TEST(CoordinateDescent, ParameterBlocksAlternate) {
  Graph g;
  VariableStore store;
  Value a = g.variable("a", {DType::f64, Shape{2}}), b = g.variable("b", {DType::f64, Shape{2}});
  store.set("a", Tensor::from(DType::f64, Shape{2}, {1, 1}));
  store.set("b", Tensor::from(DType::f64, Shape{2}, {1, 1}));
  auto cd = PluginRegistry::global().make_strategy("coordinate_descent", {{"block", std::string("parameter")}});
  Value loss = 0.5 * (sum(square(a)) + sum(square(b)));
  const TrainingStep built =
      build_training_step(g, loss, {{"a", a}, {"b", b}}, StepSpec{"sgd", {{"lr", 0.5}}, {}, 0, 0}, {{"cd", cd.get()}}, store);
  CompileOptions o;
  o.updates = built.updates;
  Plan plan = compile(g, {loss}, o);
  for (std::int64_t k = 0; k < 2; ++k) {
    TrainEvent e;
    e.store = &store;
    e.step = k;
    cd->on_step_begin(e);
    plan.run({}, &store);
  }
  EXPECT_EQ(store.get("a").to_vector(), (std::vector<double>{0.5, 0.5}));
  EXPECT_EQ(store.get("b").to_vector(), (std::vector<double>{0.5, 0.5}));
  EXPECT_TRUE(store.has("cd/block"));  // the state is kept under the name it was added with
}

TEST(CoordinateDescent, RefusesTheLassoWithoutExactCoordinateUpdates) {
  try {
    PluginRegistry::global().make_strategy("coordinate_descent", {{"l1", 0.1}});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("update = \"exact\""), std::string::npos) << e.what();
  }
}

// ---- curriculum -----------------------------------------------------------------------------

// Five 1-D examples: class 0 at 0, 1, 10 (mean 11/3), class 1 at 5, 6 (mean 5.5). Distances to the
// class mean: 11/3, 8/3, 19/3, 1/2, 1/2, so from easy to hard: 3, 4, 1, 0, 2.
TEST(Curriculum, KeepsTheEasiestFractionWideningOverEpochs) {
  const Tensor x = Tensor::from(DType::f32, Shape{5, 1}, {0, 1, 10, 5, 6});
  const Tensor y = Tensor::from(DType::i32, Shape{5}, {0, 0, 0, 1, 1});
  auto c = PluginRegistry::global().make_strategy(
      "curriculum", {{"start_fraction", 0.4}, {"widen_epochs", std::int64_t{2}}});
  auto order = [&](std::int64_t epoch) {
    EpochData d{epoch, {4, 2, 0, 3, 1}, 0, &x, &y, {}};  // a shuffled order
    c->order_epoch(d);
    return d.order;
  };
  EXPECT_EQ(order(1), (std::vector<std::int64_t>{4, 3}));        // f = 0.4: 2 of 5, in the shuffled order
  EXPECT_EQ(order(2), (std::vector<std::int64_t>{4, 0, 3, 1}));  // f = 0.7: 4 of 5 (3.5 rounded up)
  EXPECT_EQ(order(3), (std::vector<std::int64_t>{4, 2, 0, 3, 1}));  // all, from epoch widen_epochs + 1
}

// Self-paced: the score is the current model's loss on each example.
TEST(Curriculum, ScoresByTheModelsLoss) {
  const Tensor x = Tensor::from(DType::f32, Shape{4, 1}, {0, 0, 0, 0});
  const Tensor y = Tensor::from(DType::i32, Shape{4}, {0, 0, 0, 0});
  auto c = PluginRegistry::global().make_strategy(
      "curriculum", {{"score", std::string("loss")}, {"start_fraction", 0.5}, {"widen_epochs", std::int64_t{3}}});
  EpochData d{1, {0, 1, 2, 3}, 0, &x, &y, [] { return std::vector<double>{0.9, 0.1, 0.5, 0.2}; }};
  c->order_epoch(d);
  EXPECT_EQ(d.order, (std::vector<std::int64_t>{1, 3}));
}

}  // namespace
}  // namespace symgrad
