// Chapter 7's theory on linear regression, measured against its closed forms (Goodfellow, Bengio
// and Courville, "Deep Learning", sections 7.1.1, 7.5 and 7.8), with the framework's own plugins
// (the mse loss, the l2 and noise regularizers, sgd and lbfgs) in double precision:
//  1. L2 rescales the solution along the Hessian's eigenvectors: with H = Q Lambda Q^T the Hessian
//     of the unregularized loss and w* its minimum, the minimum of the loss + alpha/2 ||w||^2 is
//     w~ = Q diag(lambda_i / (lambda_i + alpha)) Q^T w*: each component q_i . w shrinks by that
//     factor.
//  2. Early stopping acts as L2: gradient descent from 0 with rate eps stopped after tau steps gives
//     w_tau = Q (I - (I - eps Lambda)^tau) Q^T w*, close to w~ with alpha = 1 / (tau eps) where
//     eps lambda_i is small (the book's first-order argument).
//  3. Noise on the inputs acts as L2 (Bishop 1995; section 7.5): with x + e, e ~ N(0, s^2 I), the
//     expected squared error is (w.x + b - y)^2 + s^2 ||w||^2, the L2 objective with alpha = 2 s^2;
//     gradient descent on the noisy steps ends near that w~, far from w*.
// The data: 400 examples of 5 centred features of scales 3, 1.5, 1, 0.5, 0.2 (mixed by a rotation)
// and y = x . w_true + 1 + noise, so that the bias decouples from w and H spans two decades.
#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/core.h>

#include "symgrad/core/random.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/plugin/spectrum.hpp"
#include "symgrad/train/trainer.hpp"

namespace {

using namespace symgrad;
constexpr std::int64_t kN = 400, kD = 5;

Dataset make_data() {
  Random rng(11);
  const double scale[kD] = {3, 1.5, 1, 0.5, 0.2}, w_true[kD] = {0.5, -1, 2, 1.5, -3};
  std::vector<double> x(kN * kD), mean(kD, 0.0);
  for (std::int64_t i = 0; i < kN; ++i) {
    for (std::int64_t j = 0; j < kD; ++j) x[i * kD + j] = scale[j] * rng.normal();
    for (std::int64_t j = 0; j + 1 < kD; ++j) {  // mix neighbours: H is not diagonal
      const double a = x[i * kD + j], b = x[i * kD + j + 1];
      x[i * kD + j] = 0.8 * a + 0.6 * b, x[i * kD + j + 1] = -0.6 * a + 0.8 * b;
    }
  }
  Dataset d{"linear", Tensor(DType::f32, Shape{kN, kD}), Tensor(), 0, {}};
  for (std::int64_t i = 0; i < kN * kD; ++i) d.features.set(i, x[i]);
  for (std::int64_t j = 0; j < kD; ++j) {  // centred as stored (in f32)
    for (std::int64_t i = 0; i < kN; ++i) mean[j] += d.features.get(i * kD + j) / kN;
  }
  for (std::int64_t i = 0; i < kN * kD; ++i) d.features.set(i, d.features.get(i) - mean[i % kD]);
  Tensor y(DType::f32, Shape{kN, 1});
  for (std::int64_t i = 0; i < kN; ++i) {
    double t = 1 + 0.3 * rng.normal();
    for (std::int64_t j = 0; j < kD; ++j) t += d.features.get(i * kD + j) * w_true[j];
    y.set(i, t);
  }
  d.arrays["y"] = y;
  return d;
}

// The Hessian of mean (x w + b - y)^2 in w once b is at its best (the features are centred),
// 2/n X^T X, and the minimum w* of the loss, from the normal equations.
void closed_form(const Dataset& d, std::vector<double>& h, std::vector<double>& w_star) {
  h.assign(kD * kD, 0.0);
  std::vector<double> xty(kD, 0.0), ybar(1, 0.0);
  for (std::int64_t i = 0; i < kN; ++i) ybar[0] += d.arrays.at("y").get(i) / kN;
  for (std::int64_t i = 0; i < kN; ++i) {
    for (std::int64_t a = 0; a < kD; ++a) {
      xty[a] += 2.0 / kN * d.features.get(i * kD + a) * (d.arrays.at("y").get(i) - ybar[0]);
      for (std::int64_t b = 0; b < kD; ++b) h[a * kD + b] += 2.0 / kN * d.features.get(i * kD + a) * d.features.get(i * kD + b);
    }
  }
  std::vector<double> values, q;
  symmetric_eigen(h, kD, values, q);
  w_star.assign(kD, 0.0);  // H^-1 X^T y through the eigenbasis
  for (std::int64_t k = 0; k < kD; ++k) {
    double c = 0;
    for (std::int64_t a = 0; a < kD; ++a) c += q[a * kD + k] * xty[a];
    for (std::int64_t a = 0; a < kD; ++a) w_star[a] += q[a * kD + k] * c / values[k];
  }
}

// w trained by the framework: `optimizer` for `epochs` full-batch steps from w = 0, with L2 `alpha`
// and, when `input_std` > 0, Gaussian noise of that standard deviation on the inputs (the noise
// regularizer, a new draw every step).
std::vector<double> train(const Dataset& d, const std::string& optimizer, double lr, std::int64_t epochs, double alpha,
                          double input_std = 0) {
  Model m;
  m.input("x", {DType::f64, Shape{kD}});
  m.body([](ModelScope& s, const NamedValues& in) {
    static const Dense out("out", 1);
    return NamedValues{{"p", out(s, in.at("x"))}};
  });
  m.loss({"p", "mse", {}, "y"});
  TrainerOptions o;
  o.dtype = DType::f64;
  o.backend = "reference";
  o.epochs = epochs;
  o.batch_size = kN;
  o.optimizer = optimizer;
  if (optimizer == "sgd") o.optimizer_settings = {{"lr", lr}};
  if (optimizer == "lbfgs") o.optimizer_settings = {{"tolerance_grad", 0.0}, {"tolerance_change", 0.0}};  // to the end
  o.initializer = "zeros";
  Trainer trainer(std::move(m), o);
  auto l2 = PluginRegistry::global().make_regularizer("l2", {{"lambda", alpha}});
  if (alpha > 0) trainer.add(*l2, "l2");
  auto noise = PluginRegistry::global().make_regularizer("noise", {{"target", std::string("input")}, {"std", input_std}});
  if (input_std > 0) trainer.add(*noise, "noise");
  trainer.fit(d);
  const Tensor& w = trainer.store().get("out/W");
  std::vector<double> out(kD);
  for (std::int64_t a = 0; a < kD; ++a) out[a] = w.get(a);
  return out;
}

double distance(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

// w shrunk along each eigenvector q_k by factor(lambda_k).
template <class F>
std::vector<double> shrink(const std::vector<double>& h, const std::vector<double>& w, F factor) {
  std::vector<double> values, q, out(kD, 0.0);
  symmetric_eigen(h, kD, values, q);
  for (std::int64_t k = 0; k < kD; ++k) {
    double c = 0;
    for (std::int64_t a = 0; a < kD; ++a) c += q[a * kD + k] * w[a];
    for (std::int64_t a = 0; a < kD; ++a) out[a] += q[a * kD + k] * c * factor(values[k]);
  }
  return out;
}

}  // namespace

int main() {
  const Dataset d = make_data();
  std::vector<double> h, w_star, values, q;
  closed_form(d, h, w_star);
  symmetric_eigen(h, kD, values, q);
  const double alpha = 2.0;
  fmt::print("1. L2 (alpha = {}) rescales w* along the Hessian's eigenvectors by lambda / (lambda + alpha)\n", alpha);
  const std::vector<double> w_l2 = train(d, "lbfgs", 0, 100, alpha);
  fmt::print("   {:>12} {:>24} {:>24}\n", "eigenvalue", "lambda/(lambda+alpha)", "measured q.w~ / q.w*");
  double worst = 0;
  for (std::int64_t k = 0; k < kD; ++k) {
    double a = 0, b = 0;
    for (std::int64_t i = 0; i < kD; ++i) a += q[i * kD + k] * w_l2[i], b += q[i * kD + k] * w_star[i];
    const double formula = values[k] / (values[k] + alpha);
    worst = std::max(worst, std::abs(a / b - formula));
    fmt::print("   {:>12.4f} {:>24.10f} {:>24.10f}\n", values[k], formula, a / b);
  }
  fmt::print("   largest difference {:.2e}\n", worst);

  const double eps = 0.01;
  fmt::print("2. Gradient descent from 0 (lr {}), stopped after tau steps, against L2 with alpha = 1 / (tau lr)\n", eps);
  fmt::print("   {:>6} {:>8} {:>22} {:>22} {:>24}\n", "tau", "alpha", "|w_tau - w*| / |w*|", "|w_tau - w~| / |w*|",
             "w_tau against its form");
  double worst_gd = 0, worst_es = 0;
  for (std::int64_t tau : {3, 10, 30, 100, 300}) {
    const std::vector<double> w_tau = train(d, "sgd", eps, tau, 0);
    const double a = 1 / (tau * eps);
    const auto gd = shrink(h, w_star, [&](double l) { return 1 - std::pow(1 - eps * l, static_cast<double>(tau)); });
    const auto l2 = shrink(h, w_star, [&](double l) { return l / (l + a); });
    const double n = std::sqrt(std::inner_product(w_star.begin(), w_star.end(), w_star.begin(), 0.0));
    worst_gd = std::max(worst_gd, distance(w_tau, gd) / n);
    worst_es = std::max(worst_es, distance(w_tau, l2) / n);
    fmt::print("   {:>6} {:>8.4g} {:>22.4f} {:>22.4f} {:>24.2e}\n", tau, a, distance(w_tau, w_star) / n, distance(w_tau, l2) / n,
               distance(w_tau, gd) / n);
  }
  const double s = 0.5, a_noise = 2 * s * s;
  fmt::print("3. Gaussian noise (std {}) on the inputs against L2 with alpha = 2 std^2 = {}\n", s, a_noise);
  const auto w_noise = train(d, "sgd", 0.02, 3000, 0, s);
  const auto w_tilde = shrink(h, w_star, [&](double l) { return l / (l + a_noise); });
  const double n = std::sqrt(std::inner_product(w_star.begin(), w_star.end(), w_star.begin(), 0.0));
  const double to_l2 = distance(w_noise, w_tilde) / n, to_star = distance(w_noise, w_star) / n;
  fmt::print("   |w_noise - w~| / |w*| = {:.4f}; |w_noise - w*| / |w*| = {:.4f} (w~ from w*: {:.4f})\n", to_l2, to_star,
             distance(w_tilde, w_star) / n);
  // (the features are centred as stored in f32, up to rounding: the bias's coupling to w is ~1e-9)
  const bool ok = worst < 1e-7 && worst_gd < 1e-7 && worst_es < 0.2 && to_l2 < 0.2 * to_star;
  fmt::print("{}\n", ok ? "chapter 7 closed forms: reproduced" : "chapter 7 closed forms: NOT reproduced");
  return ok ? 0 : 1;
}
