// The curvature strategy through the real loader: its Lanczos estimates of the Hessian's extreme
// eigenvalues, the gradient norm and g'Hg/g'g against the exact Hessian of a small model
// (Trainer::batch_objective, symmetric_eigen); and the probe leaves training as it was. Also the
// SDK's eigenvalue tools (plugin/spectrum.hpp) on matrices whose eigenvalues are known.

#include <cmath>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "symgrad/data/synthetic.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/plugin/spectrum.hpp"
#include "symgrad/plugin/vectors.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad {
namespace {

// A random orthogonal Q (Gram-Schmidt on Gaussian columns) and Q diag(d) Q^T, row-major.
std::vector<double> with_eigenvalues(const std::vector<double>& d, std::uint64_t seed) {
  const std::size_t n = d.size();
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<std::vector<double>> q;
  while (q.size() < n) {
    std::vector<double> v(n);
    for (double& e : v) e = normal(rng);
    for (const auto& u : q) add_scaled(v, -dot(u, v), u);
    scale_into(v, 1 / std::sqrt(dot(v, v)), v);
    q.push_back(v);
  }
  std::vector<double> a(n * n, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      for (std::size_t k = 0; k < n; ++k) a[i * n + j] += q[k][i] * d[k] * q[k][j];
    }
  }
  return a;
}

TEST(Spectrum, SymmetricEigenGivesTheEigenvaluesAscendingWithTheirVectors) {
  const std::vector<double> d = {3.0, -2.0, 0.5, 7.0, -2.5};
  const std::vector<double> a = with_eigenvalues(d, 1);
  std::vector<double> values, vectors;
  symmetric_eigen(a, 5, values, vectors);
  const std::vector<double> want = {-2.5, -2.0, 0.5, 3.0, 7.0};
  for (std::size_t k = 0; k < 5; ++k) {
    EXPECT_NEAR(values[k], want[k], 1e-12);
    for (std::size_t i = 0; i < 5; ++i) {  // A v_k = lambda_k v_k
      double av = 0;
      for (std::size_t j = 0; j < 5; ++j) av += a[i * 5 + j] * vectors[j * 5 + k];
      EXPECT_NEAR(av, values[k] * vectors[i * 5 + k], 1e-12);
    }
  }
}

// A spectrum like a network's Hessian: a few large outliers over a bulk near 0, both signs.
TEST(Spectrum, LanczosFindsTheExtremesOfALargeOperatorFromItsProducts) {
  const std::size_t n = 120;
  std::vector<double> d(n);
  for (std::size_t i = 0; i < n; ++i) d[i] = 0.02 * std::sin(static_cast<double>(i));  // bulk in [-0.02, 0.02]
  d[7] = 50, d[40] = 12, d[90] = -3;
  const std::vector<double> a = with_eigenvalues(d, 2);
  auto apply = [&](const std::vector<double>& v, std::vector<double>& out) {
    out.assign(n, 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < n; ++j) out[i] += a[i * n + j] * v[j];
    }
  };
  const ExtremeEigenvalues e = extreme_eigenvalues(apply, n, 20, 3);
  EXPECT_EQ(e.products, 20u);
  EXPECT_FALSE(e.exact);
  EXPECT_NEAR(e.largest, 50, 1e-8);
  EXPECT_NEAR(e.smallest, -3, 1e-8);
  // n steps or fewer span the whole space: the Ritz values are the eigenvalues
  const ExtremeEigenvalues all = extreme_eigenvalues(apply, n, 500, 3);
  EXPECT_TRUE(all.exact);
  EXPECT_LE(all.products, n);
  EXPECT_NEAR(all.largest, 50, 1e-9);
  EXPECT_NEAR(all.smallest, -3, 1e-9);
}

// Records what the callbacks before it reported at each step.
struct Recorder final : Extension {
  void on_step_end(TrainEvent& e) override {
    for (const auto& [name, value] : e.reports) at[e.step][name] = value;
  }
  std::map<std::int64_t, std::map<std::string, double>> at;
};

TrainerOptions small_run() {
  TrainerOptions o;
  o.epochs = 3;
  o.batch_size = 20;  // 3 steps an epoch on 60 examples
  o.optimizer = "sgd";
  o.optimizer_settings = {{"lr", 0.3}};
  o.seed = 4;
  return o;
}

Sequential small_model() {
  Sequential model;  // 2 -> 4 (tanh) -> 2: 22 parameters
  model.dense(4, "tanh").dense(2);
  return model;
}

// Every measurement at the last step (every = 9) compared with the exact Hessian there: with more
// Lanczos steps than parameters the estimates are the exact extremes.
TEST(Curvature, MatchesTheExactHessianOfASmallModel) {
  TrainerOptions o = small_run();
  o.dtype = DType::f64;
  o.backend = "reference";
  const Dataset train = make_moons(60, 0.2, 5);
  Trainer trainer(small_model(), {DType::f64, Shape{2}}, 2, o);
  auto curvature = PluginRegistry::global().make_strategy(
      "curvature", {{"every", std::int64_t{9}}, {"examples", std::int64_t{0}}, {"iterations", std::int64_t{40}}});
  Recorder seen;
  trainer.add(*curvature, "curvature");
  trainer.add(seen, "recorder");
  trainer.fit(train);
  ASSERT_EQ(seen.at.size(), 2u);  // steps 1 and 9
  const auto& r = seen.at.at(9);

  auto f = trainer.batch_objective(train, 0);  // the whole set: what examples = 0 measures on
  const std::vector<double> x = f->current();
  std::vector<double> g, h, hg, values, vectors;
  const double loss = f->value_and_grad(x, g);
  f->hessian(x, h);
  symmetric_eigen(h, x.size(), values, vectors);
  f->hessian_vector_product(x, g, hg);
  EXPECT_NEAR(r.at("curvature/lambda_max"), values.back(), 1e-9 * std::abs(values.back()));
  EXPECT_NEAR(r.at("curvature/lambda_min"), values.front(), 1e-9 * std::abs(values.back()));
  EXPECT_LT(values.front(), 0);  // this point has negative curvature: lambda_min says so
  EXPECT_NEAR(r.at("curvature/grad_norm"), std::sqrt(dot(g, g)), 1e-12);
  EXPECT_NEAR(r.at("curvature/gHg"), dot(g, hg) / dot(g, g), 1e-10);
  EXPECT_NEAR(r.at("curvature/stability"), 0.3 * values.back() / 2, 1e-9);
  EXPECT_NEAR(r.at("curvature/loss"), loss, 1e-12);
  EXPECT_LE(r.at("curvature/products"), 23);  // at most 22 Lanczos steps, and H g
  EXPECT_GE(r.at("curvature/seconds"), 0);
}

// The probe evaluates the objective at the parameters and leaves them, and the step's plans, as
// they were: the weights after training are bitwise those of a run without it.
TEST(Curvature, LeavesTrainingAsItWas) {
  const Dataset train = make_moons(60, 0.2, 5);
  auto weights = [&](bool probe) {
    Trainer trainer(small_model(), {DType::f32, Shape{2}}, 2, small_run());
    auto curvature = PluginRegistry::global().make_strategy("curvature", {{"every", std::int64_t{2}}, {"examples", std::int64_t{16}}});
    if (probe) trainer.add(*curvature, "curvature");
    trainer.fit(train);
    std::vector<double> w;
    for (const auto& name : trainer.store().names()) {
      const Tensor& t = trainer.store().get(name);
      for (std::int64_t i = 0; i < t.numel(); ++i) w.push_back(t.get(i));
    }
    return w;
  };
  EXPECT_EQ(weights(true), weights(false));
}

}  // namespace
}  // namespace symgrad
