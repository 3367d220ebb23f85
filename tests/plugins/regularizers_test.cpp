// Regularizer plugins through the real loader, on small least-squares problems in f64 whose
// answers are known in closed form (worked out in the comments): L1 against L2 on a sparse
// regression, ridge on an under-constrained problem, the projections' formulas, the penalties'
// conventions.

#include <cmath>

#include <gtest/gtest.h>

#include "support/step_run.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/model.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {
namespace {

using testing::StepRun;

// 1/2n |Xw - y|^2 with X [4, 3] of orthogonal columns (X^T X = 4 I, so X^T X / n = I) and
// y = (3, 1, 2, 0.5): x_i . y / n = (1.625, 0.875, 0.375).
Value sparse_regression(Value w) {
  Graph& g = *w.graph;
  Value xs = g.constant(Tensor::from(DType::f64, Shape{4, 3}, {1, 1, 1, 1, -1, 1, 1, 1, -1, 1, -1, -1}));
  Value ys = g.constant(Tensor::from(DType::f64, Shape{4}, {3, 1, 2, 0.5}));
  Value r = reshape(matmul(xs, reshape(w, Shape{3, 1})), Shape{4}) - ys;
  return 0.5 * mean(square(r));
}
const double kXy[3] = {1.625, 0.875, 0.375};

// With X^T X / n = I: lasso (+ lambda |w|_1) gives w_i = S(x_i.y / n, lambda), exact zeros where
// |x_i.y / n| <= lambda; ridge (+ lambda/2 |w|^2) gives w_i = (x_i.y / n) / (1 + lambda), no zeros.
TEST(L1Regularizer, ProximalGivesExactZerosWhereL2GivesNone) {
  const double lambda = 0.5;
  StepRun l1(sparse_regression, {0.2, 0.2, 0.2}, "sgd", {{"lr", 0.5}}, {},
             {{"l1", {{"lambda", lambda}, {"pattern", std::string("*")}, {"mode", std::string("proximal")}}}});
  StepRun l2(sparse_regression, {0.2, 0.2, 0.2}, "sgd", {{"lr", 0.5}}, {},
             {{"l2", {{"lambda", lambda}, {"pattern", std::string("*")}}}});
  for (int k = 0; k < 200; ++k) l1.step(), l2.step();
  const auto a = l1.x(), b = l2.x();
  for (int i = 0; i < 3; ++i) {
    EXPECT_NEAR(a[i], std::copysign(std::max(std::abs(kXy[i]) - lambda, 0.0), kXy[i]), 1e-12) << i;
    EXPECT_NEAR(b[i], kXy[i] / (1 + lambda), 1e-12) << i;  // the ridge closed form
    EXPECT_NE(b[i], 0.0) << i;
  }
  EXPECT_EQ(a[2], 0.0);  // exactly zero, not small
  // the plain penalty (subgradient) only oscillates near zero
  StepRun sub(sparse_regression, {0.2, 0.2, 0.2}, "sgd", {{"lr", 0.5}}, {},
              {{"l1", {{"lambda", lambda}, {"pattern", std::string("*")}}}});
  for (int k = 0; k < 200; ++k) sub.step();
  EXPECT_NE(sub.x()[2], 0.0);
  EXPECT_LT(std::abs(sub.x()[2]), 0.3);
}

// Under-constrained: X = [[1, 1], [2, 2]] (X^T X singular), y = (2, 4): every w with w1 + w2 = 2
// fits exactly, and gradient descent ends at the one nearest its start. With 1/2 |Xw - y|^2 +
// a/2 |w|^2 the minimizer is unique: (X^T X + a I)^-1 X^T y, here w1 = w2 = 10 / (10 + a).
TEST(L2Regularizer, MakesAnUnderConstrainedProblemUnique) {
  auto loss = [](Value w) {
    Graph& g = *w.graph;
    Value xs = g.constant(Tensor::from(DType::f64, Shape{2, 2}, {1, 1, 2, 2}));
    Value ys = g.constant(Tensor::from(DType::f64, Shape{2}, {2, 4}));
    return 0.5 * sum(square(reshape(matmul(xs, reshape(w, Shape{2, 1})), Shape{2}) - ys));
  };
  auto end = [&](std::vector<double> start, double a) {
    testing::Components regs;
    if (a > 0) regs.push_back({"l2", {{"lambda", a}, {"pattern", std::string("*")}}});
    StepRun r(loss, start, "sgd", {{"lr", 0.05}}, {}, regs);
    for (int k = 0; k < 2000; ++k) r.step();
    return r.x();
  };
  const auto p = end({0, 0}, 0), q = end({3, -3}, 0);
  EXPECT_NEAR(p[0] + p[1], 2, 1e-9);
  EXPECT_NEAR(q[0] + q[1], 2, 1e-9);
  EXPECT_GT(std::abs(p[0] - q[0]), 1);  // two different minimizers
  const double a = 0.5, w = 10 / (10 + a);
  for (const auto& start : {std::vector<double>{0, 0}, std::vector<double>{3, -3}}) {
    const auto r = end(start, a);
    EXPECT_NEAR(r[0], w, 1e-9);
    EXPECT_NEAR(r[1], w, 1e-9);
  }
}

// The three conventions of the coefficient, on sum w^2 = 1 + 4 = 5 with a batch of m = 4.
TEST(L2Regularizer, ConventionsByName) {
  for (const auto& [convention, want] : std::vector<std::pair<std::string, double>>{
           {"torch", 0.5 * 0.1 * 5}, {"keras", 0.1 * 5}, {"course", 0.1 * 5 / (2 * 4)}}) {
    Graph g;
    Value w = g.variable("dense1/W", {DType::f64, Shape{2}});
    auto reg = PluginRegistry::global().make_regularizer("l2", {{"lambda", 0.1}, {"convention", convention}});
    PenaltyContext ctx(g, {{"dense1/W", w}});
    ctx.inputs["x"] = g.input("x", {DType::f64, Shape{Shape::kOpen, 2}});  // the batch the course's m counts
    Value pen = reg->penalty(ctx);
    VariableStore store;
    store.set("dense1/W", Tensor::from(DType::f64, Shape{2}, {1, 2}));
    Plan plan = compile(g, {pen});
    EXPECT_NEAR(plan.run({{"x", Tensor(DType::f64, Shape{4, 2})}}, &store)[0].get(0), want, 1e-15) << convention;
  }
}

// A loss that does not depend on x: the update leaves x as it is and the projection alone acts.
Value flat(Value x) { return 0.0 * sum(x); }

// L1 ball of radius 2 around (3, -1, 0.5): theta with (3 - theta) + (1 - theta) = 2 is 1, so the
// projection is (2, 0, 0) (soft-thresholding by 1), exact zeros included.
TEST(Projections, L1BallSoftThresholds) {
  StepRun r(flat, {3, -1, 0.5}, "sgd", {{"lr", 0.1}}, {},
            {{"l1_ball", {{"c", 2.0}, {"pattern", std::string("*")}}}});
  const auto x = r.step();
  EXPECT_NEAR(x[0], 2, 1e-12);
  EXPECT_EQ(x[1], 0.0);
  EXPECT_EQ(x[2], 0.0);
  // inside the ball: unchanged
  StepRun inside(flat, {0.5, -0.5, 0.25}, "sgd", {{"lr", 0.1}}, {}, {{"l1_ball", {{"c", 2.0}, {"pattern", std::string("*")}}}});
  EXPECT_EQ(inside.step(), (std::vector<double>{0.5, -0.5, 0.25}));
}

// max_norm per unit on a dense weight [in = 2, units = 2]: column 0 is (3, 4) (norm 5), column 1
// (0.3, 0.4) (norm 0.5); with c = 1 column 0 becomes (0.6, 0.8), column 1 stays. l2_ball on the
// whole tensor scales everything by 1 / |W| = 1 / sqrt(25.25).
TEST(Projections, MaxNormPerUnitAndL2BallWhole) {
  const std::vector<double> w = {3, 0.3, 4, 0.4};  // row-major [2, 2]: rows (3, 0.3), (4, 0.4)
  StepRun unit(flat, w, "sgd", {{"lr", 0.1}}, {}, {{"max_norm", {{"c", 1.0}, {"pattern", std::string("*")}}}}, Shape{2, 2});
  const auto u = unit.step();
  EXPECT_NEAR(u[0], 0.6, 1e-12);
  EXPECT_NEAR(u[2], 0.8, 1e-12);
  EXPECT_EQ(u[1], 0.3);
  EXPECT_EQ(u[3], 0.4);
  StepRun whole(flat, w, "sgd", {{"lr", 0.1}}, {}, {{"l2_ball", {{"c", 1.0}, {"pattern", std::string("*")}}}}, Shape{2, 2});
  const auto v = whole.step();
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(v[i], w[i] / std::sqrt(25.25), 1e-12) << i;
}

TEST(Tying, PenaltyIsTheSquaredDistanceAndNeedsPairs) {
  Graph g;
  Value a = g.variable("dense2/W", {DType::f64, Shape{2}}), b = g.variable("dense3/W", {DType::f64, Shape{2}});
  auto reg = PluginRegistry::global().make_regularizer("tying", {{"lambda", 0.5}});
  Value pen = reg->penalty(PenaltyContext(g, {{"dense2/W", a}, {"dense3/W", b}}));
  VariableStore store;
  store.set("dense2/W", Tensor::from(DType::f64, Shape{2}, {1, 2}));
  store.set("dense3/W", Tensor::from(DType::f64, Shape{2}, {0, 4}));
  EXPECT_DOUBLE_EQ(compile(g, {pen}).run({}, &store)[0].get(0), 0.5 * (1 + 4));
  Value c = g.variable("dense3/W2", {DType::f64, Shape{3}});
  EXPECT_THROW(reg->penalty(PenaltyContext(g, {{"dense2/W", a}, {"dense3/W", c}})), UsageError);  // shapes differ
  EXPECT_THROW(reg->penalty(PenaltyContext(g, {{"dense2/W", a}})), UsageError);                      // no pair
}

// Each augmented 5x5 image is its source translated by at most `shift` pixels (zeros entering) and
// maybe mirrored: found among all such candidates, exactly; the same seed gives the same batch.
TEST(Augment, FlipsAndShiftsWithinRangeReproducibly) {
  const std::int64_t n = 64, h = 5, w = 5;
  Tensor images(DType::f32, Shape{n, 1, h, w});
  for (std::int64_t i = 0; i < images.numel(); ++i) images.set(i, static_cast<double>(1 + (i * 7919) % 97));
  auto augment = PluginRegistry::global().make_regularizer("augment", {{"flip", true}, {"shift", std::int64_t{1}}});
  auto transformed = [&](std::uint64_t seed) {
    BatchData b{1, 0, seed, images.clone(), nullptr};
    augment->transform_batch(b);
    return b.features;
  };
  const Tensor out = transformed(5);
  EXPECT_EQ(out.to_vector(), transformed(5).to_vector());
  EXPECT_NE(out.to_vector(), transformed(6).to_vector());
  int mirrored = 0, moved = 0;
  for (std::int64_t e = 0; e < n; ++e) {
    bool found = false;
    for (int m = 0; m < 2 && !found; ++m) {
      for (std::int64_t dy = -1; dy <= 1 && !found; ++dy) {
        for (std::int64_t dx = -1; dx <= 1 && !found; ++dx) {
          bool same = true;
          for (std::int64_t y = 0; y < h && same; ++y) {
            for (std::int64_t x = 0; x < w && same; ++x) {
              const std::int64_t sy = y - dy, sx0 = x - dx, sx = m ? w - 1 - sx0 : sx0;
              const bool in = sy >= 0 && sy < h && sx0 >= 0 && sx0 < w;
              same = out.get(e * 25 + y * w + x) == (in ? images.get(e * 25 + sy * w + sx) : 0.0);
            }
          }
          if (same) found = true, mirrored += m, moved += dy != 0 || dx != 0;
        }
      }
    }
    EXPECT_TRUE(found) << "example " << e;
  }
  EXPECT_GT(mirrored, 16);  // about half of 64
  EXPECT_GT(moved, 32);     // 8 of 9 translations move
  BatchData flat{1, 0, 1, Tensor(DType::f32, Shape{4, 10}), nullptr};
  EXPECT_THROW(augment->transform_batch(flat), UsageError);  // not images
}

}  // namespace
}  // namespace symgrad

namespace symgrad {
namespace {

// Double backpropagation on a linear model with mse: loss_i = (w.x_i + b - t_i)^2, so
// d loss_i / d x_i = 2 r_i w (r_i the residual) and the penalty is lambda mean_i 4 r_i^2 |w|^2,
// computed here from the initial parameters; the trainer's objective minus its loss over one
// full-batch step (both at those parameters) must be it.
TEST(DoubleBackpropRegularizer, PenalizesTheInputGradientOfEachExamplesLoss) {
  Model model;
  model.input("x", {DType::f64, Shape{2}});
  model.body([](ModelScope& s, const NamedValues& in) {
    static const Dense out("out", 1);
    return NamedValues{{"y_hat", out(s, in.at("x"))}};
  });
  model.loss({"y_hat", "mse", {}, "t"});
  Dataset data;
  data.features = Tensor::from(DType::f32, Shape{4, 2}, {1, 2, -1, 0.5, 0.3, -2, 2, 1});
  data.arrays["t"] = Tensor::from(DType::f32, Shape{4, 1}, {0.5, -1, 2, 0});
  TrainerOptions o;
  o.dtype = DType::f64;
  o.epochs = 1;
  o.batch_size = 4;
  o.optimizer = "sgd";
  o.initializer = "normal";
  o.initializer_settings = {{"std", 1.0}};
  const double lambda = 0.3;
  Trainer trainer(model, o);
  auto reg = PluginRegistry::global().make_regularizer("double_backprop", {{"lambda", lambda}});
  trainer.add(*reg, "double_backprop");
  trainer.prepare();
  const std::vector<double> w = trainer.store().get("out/W").to_vector();
  const double b = trainer.store().get("out/b").get(0), w2 = w[0] * w[0] + w[1] * w[1];
  double want = 0;
  for (int i = 0; i < 4; ++i) {
    const double r = w[0] * data.features.get(2 * i) + w[1] * data.features.get(2 * i + 1) + b - data.arrays["t"].get(i);
    want += lambda * 4 * r * r * w2 / 4;
  }
  const EpochRecord r = trainer.fit(data).back();
  EXPECT_GT(want, 0.01);
  EXPECT_NEAR(r.train_objective - r.train_loss, want, 1e-12 * (1 + want));
}

TEST(DoubleBackpropRegularizer, NamesAMissingInput) {
  Model model;
  model.input("pixels", {DType::f64, Shape{2}});
  model.body([](ModelScope& s, const NamedValues& in) {
    static const Dense out("out", 2);
    return NamedValues{{"logits", out(s, in.at("pixels"))}};
  });
  model.loss({"logits"});
  TrainerOptions o;
  o.optimizer = "sgd";
  Trainer trainer(model, o);
  auto reg = PluginRegistry::global().make_regularizer("double_backprop");
  trainer.add(*reg, "double_backprop");
  try {
    trainer.prepare();
    FAIL() << "a missing input was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("reads the model input 'x', which the model does not have; its inputs: pixels"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace symgrad
