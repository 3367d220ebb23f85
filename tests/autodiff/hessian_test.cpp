// Hessians and Hessian-vector products against closed forms.

#include <gtest/gtest.h>

#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

TEST(Hessian, QuadraticFormHasHessianA) {
  // f(x) = 0.5 x^T A x with symmetric A: H = A, Hv = A v
  const std::vector<double> A = {4, 1, 0, 1, 3, -1, 0, -1, 2};
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{3, 1}});
  auto a = g.constant(Tensor::from(DType::f64, Shape{3, 3}, A));
  auto f = 0.5 * sum(matmul(transpose(x), matmul(a, x)));
  auto H = hessian(f, x);
  auto v = g.input("v", {DType::f64, Shape{3, 1}});
  auto hv = hessian_vector_product(f, {x}, {v})[0];
  Plan p = compile(g, {H, hv});
  const auto& r = p.run({{"x", Tensor::from(DType::f64, Shape{3, 1}, {0.3, -2, 5})},
                         {"v", Tensor::from(DType::f64, Shape{3, 1}, {1, 2, 3})}});
  EXPECT_EQ(r[0].shape(), (Shape{3, 3}));
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(r[0].get(i), A[static_cast<std::size_t>(i)], 1e-12);
  EXPECT_EQ(r[1].to_vector(), (std::vector<double>{6, 4, 4}));
}

TEST(Hessian, RosenbrockAtAPoint) {
  // f = (1 - x)^2 + 100 (y - x^2)^2
  // H = [[2 - 400 (y - x^2) + 800 x^2, -400 x], [-400 x, 200]]
  Graph g;
  auto p = g.input("p", {DType::f64, Shape{2}});
  auto x = slice(p, {0}, {1});
  auto y = slice(p, {1}, {1});
  auto f = sum(square(1.0 - x) + 100.0 * square(y - square(x)));
  auto H = hessian(f, p);
  auto grad = gradients(f, {p})[0];
  Plan plan = compile(g, {H, grad});
  const double px = -1.2, py = 1.0;
  const auto& r = plan.run({{"p", Tensor::from(DType::f64, Shape{2}, {px, py})}});
  const double h00 = 2 - 400 * (py - px * px) + 800 * px * px;
  EXPECT_NEAR(r[0].get(0), h00, 1e-9);
  EXPECT_NEAR(r[0].get(1), -400 * px, 1e-9);
  EXPECT_NEAR(r[0].get(2), -400 * px, 1e-9);
  EXPECT_NEAR(r[0].get(3), 200, 1e-9);
  // gradient: [-2 (1 - x) - 400 x (y - x^2), 200 (y - x^2)]
  EXPECT_NEAR(r[1].get(0), -2 * (1 - px) - 400 * px * (py - px * px), 1e-9);
  EXPECT_NEAR(r[1].get(1), 200 * (py - px * px), 1e-9);
}

TEST(Hessian, VectorProductOfANetworkMatchesFiniteDifferencesOfTheGradient) {
  // Hv ~ (grad(w + h v) - grad(w - h v)) / 2h for a small tanh network
  Graph g;
  auto x = g.constant(Tensor::from(DType::f64, Shape{3, 2}, {0.5, -1, 1.5, 0.2, -0.3, 0.8}));
  auto w = g.input("w", {DType::f64, Shape{2, 2}});
  auto v = g.input("v", {DType::f64, Shape{2, 2}});
  auto loss = mean(square(tanh(matmul(x, w))));
  auto grad = gradients(loss, {w})[0];
  auto hv = hessian_vector_product(loss, {w}, {v})[0];
  Plan pg = compile(g, {grad});
  Plan ph = compile(g, {hv});
  Tensor wv = Tensor::from(DType::f64, Shape{2, 2}, {0.3, -0.7, 0.9, 0.1});
  Tensor vv = Tensor::from(DType::f64, Shape{2, 2}, {1, -2, 0.5, 3});
  const double h = 1e-5;
  Tensor wp = wv.clone(), wm = wv.clone();
  for (int i = 0; i < 4; ++i) {
    wp.set(i, wv.get(i) + h * vv.get(i));
    wm.set(i, wv.get(i) - h * vv.get(i));
  }
  auto gp = pg.run({{"w", wp}})[0].to_vector();
  auto gm = pg.run({{"w", wm}})[0].to_vector();
  auto r = ph.run({{"w", wv}, {"v", vv}})[0].to_vector();
  for (std::size_t i = 0; i < 4; ++i) EXPECT_NEAR(r[i], (gp[i] - gm[i]) / (2 * h), 1e-7);
}

}  // namespace
}  // namespace symgrad
