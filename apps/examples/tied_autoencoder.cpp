// Hard parameter sharing (Goodfellow, Bengio and Courville, "Deep Learning", section 7.9): an
// autoencoder whose decoder is its encoder's transpose, one variable W used twice,
//   h = sigmoid(x W + b),   x' = sigmoid(h W^T + c),   loss = mean (x' - x)^2
// on 2000 Fashion-MNIST images. W's gradient is the sum of the gradients through both uses
// (autodiff adds the contributions of a value used in several places): checked against central
// differences on a small copy of the graph in double, then trained with Adam.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <fmt/core.h>

#include "symgrad/core/random.hpp"
#include "symgrad/data/idx.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"

namespace {

using namespace symgrad;

// The tied autoencoder's loss over x [N, d] with W [d, k], b [k], c [d].
Value tied_loss(Value x, Value w, Value b, Value c) {
  Value h = sigmoid(matmul(x, w) + b);
  Value reconstruction = sigmoid(matmul(h, w, false, true) + c);  // W^T without a copy
  return mse(reconstruction, x);
}

}  // namespace

int main(int argc, char** argv) {
  // 1. The shared gradient, checked: d = 6, k = 3, four examples, in double
  Graph small;
  Value xs = small.input("x", {DType::f64, Shape{4, 6}});
  Value ws = small.input("W", {DType::f64, Shape{6, 3}}), bs = small.input("b", {DType::f64, Shape{3}});
  Value cs = small.input("c", {DType::f64, Shape{6}});
  Feeds feeds;
  Random rng(3);
  for (const auto& [name, shape] : {std::pair{"x", Shape{4, 6}}, {"W", Shape{6, 3}}, {"b", Shape{3}}, {"c", Shape{6}}}) {
    Tensor t(DType::f64, shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, rng.uniform(-1, 1));
    feeds[name] = t;
  }
  const GradcheckResult check = gradcheck({tied_loss(xs, ws, bs, cs)}, {ws, bs, cs}, feeds);
  fmt::print("gradient of the shared W against central differences: {}\n", check.passed ? "passed" : "FAILED");
  if (!check.passed) {
    fmt::print("{}", check.to_string());
    return 1;
  }

  // 2. Training: 784 -> 64 -> 784 with one W [784, 64]
  const std::int64_t n = argc > 1 ? std::atoll(argv[1]) : 2000, epochs = argc > 2 ? std::atoll(argv[2]) : 10;
  const Dataset data = load_fashion_mnist("train").rows(0, n);
  const Tensor images = data.features.to(DType::f32);  // [n, 1, 28, 28] in [0, 1]
  Graph g;
  Value x = g.input("x", {DType::f32, Shape{Shape::kOpen, 784}});
  Value w = g.variable("W", {DType::f32, Shape{784, 64}});
  Value b = g.variable("b", {DType::f32, Shape{64}}), c = g.variable("c", {DType::f32, Shape{784}});
  Value loss = tied_loss(x, w, b, c);
  VariableStore store;
  Tensor w0(DType::f32, Shape{784, 64});
  for (std::int64_t i = 0; i < w0.numel(); ++i) w0.set(i, rng.normal() * std::sqrt(1.0 / 784));
  store.set("W", w0);
  store.set("b", Tensor(DType::f32, Shape{64}));
  store.set("c", Tensor(DType::f32, Shape{784}));
  CompileOptions options;
  options.backend = "onednn";
  options.updates = build_optimizer_step("adam", {{"lr", 0.005}}, {}, g, {w, b, c}, gradients(loss, {w, b, c}), store).updates;
  Plan step = compile(g, {loss}, options);
  const std::int64_t batch = 100;
  double first = 0, last = 0;
  for (std::int64_t e = 0; e < epochs; ++e) {
    double sum = 0;
    for (std::int64_t at = 0; at + batch <= n; at += batch) {
      Tensor xb(DType::f32, Shape{batch, 784});
      std::copy(images.data<float>() + at * 784, images.data<float>() + (at + batch) * 784, xb.data<float>());
      sum += step.run({{"x", xb}}, &store)[0].get(0);
    }
    last = sum / static_cast<double>(n / batch);
    if (e == 0) first = last;
  }
  fmt::print("tied autoencoder 784-64-784 on {} images: reconstruction mse {:.4f} (epoch 1) -> {:.4f} (epoch {}); "
             "{} parameters (an untied decoder would add {})\n",
             n, first, last, epochs, 784 * 64 + 64 + 784, 784 * 64);
  return last < first ? 0 : 1;
}
