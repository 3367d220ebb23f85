// A training loop written by hand with the graph API: a two-layer network on the moons, the
// gradients and the adam plugin's update in one compiled step, minibatches fed by the loop, and
// a separate inference plan for the accuracy.
#include <cmath>
#include <numeric>

#include <fmt/core.h>

#include "symgrad/core/random.hpp"
#include "symgrad/data/synthetic.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"

int main() {
  using namespace symgrad;
  const Dataset data = make_moons(512, 0.15, 1);
  Graph g;
  Value x = g.input("x", {DType::f32, Shape{Shape::kOpen, 2}});
  Value y = g.input("y", {DType::i32, Shape{Shape::kOpen}});
  Value w1 = g.variable("w1", {DType::f32, Shape{2, 32}}), b1 = g.variable("b1", {DType::f32, Shape{32}});
  Value w2 = g.variable("w2", {DType::f32, Shape{32, 2}}), b2 = g.variable("b2", {DType::f32, Shape{2}});
  Value logits = matmul(tanh(matmul(x, w1) + b1), w2) + b2;
  Value loss = mean(softmax_cross_entropy(logits, y));

  VariableStore store;  // first values: small random weights, zero biases
  Random rng(7);
  for (const auto& [name, shape] : {std::pair{"w1", Shape{2, 32}}, {"w2", Shape{32, 2}}}) {
    Tensor t(DType::f32, shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, 0.5 * rng.normal());
    store.set(name, t);
  }
  store.set("b1", Tensor(DType::f32, Shape{32}));
  store.set("b2", Tensor(DType::f32, Shape{2}));

  CompileOptions options;
  options.backend = "onednn";
  options.updates = build_optimizer_step("adam", {{"lr", 0.02}}, {}, g, {w1, b1, w2, b2}, gradients(loss, {w1, b1, w2, b2}), store).updates;
  Plan step = compile(g, {loss}, options);
  CompileOptions inference;
  inference.backend = "onednn";
  Plan predict = compile(g, {logits}, inference);

  std::vector<std::int64_t> order(512);
  std::iota(order.begin(), order.end(), 0);
  for (int epoch = 1; epoch <= 30; ++epoch) {
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    double total = 0;
    for (std::size_t at = 0; at < order.size(); at += 64) {
      const Dataset batch = data.gather({order.begin() + static_cast<long>(at), order.begin() + static_cast<long>(at + 64)});
      total += step.run({{"x", batch.features}, {"y", batch.labels}}, &store)[0].get(0);
    }
    if (epoch % 10 == 0) fmt::print("epoch {}: mean loss {:.4f}\n", epoch, total / 8);
  }
  const Tensor& out = predict.run({{"x", data.features}}, &store)[0];
  int right = 0;
  for (std::int64_t i = 0; i < 512; ++i) right += (out.get(2 * i + 1) > out.get(2 * i)) == (data.labels.get(i) == 1);
  fmt::print("training accuracy {:.2f}%\n", 100.0 * right / 512);
  return right > 480 ? 0 : 1;
}
