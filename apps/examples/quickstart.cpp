// The README's example: build a graph, differentiate it, run it, gradient-check it.
#include <fmt/core.h>

#include "symgrad/symgrad.hpp"

int main() {
  using namespace symgrad;
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{Shape::kOpen, 3}});  // open batch
  auto y = g.input("y", {DType::i64, Shape{Shape::kOpen}});
  auto W = g.input("W", {DType::f64, Shape{3, 2}});
  auto b = g.input("b", {DType::f64, Shape{2}});
  auto loss = mean(softmax_cross_entropy(tanh(matmul(x, W) + b), y));
  auto grads = gradients(loss, {W, b});  // more nodes in the same graph

  Plan plan = compile(g, {loss, grads[0], grads[1]});
  Feeds feeds = {{"x", Tensor::from(DType::f64, Shape{2, 3}, {1, 2, 3, -1, 0, 1})},
                 {"y", Tensor::from(DType::i64, Shape{2}, {0, 1})},
                 {"W", Tensor::from(DType::f64, Shape{3, 2}, {0.1, -0.2, 0.3, 0.4, -0.5, 0.6})},
                 {"b", Tensor::from(DType::f64, Shape{2}, {0.0, 0.1})}};
  const auto& out = plan.run(feeds);
  fmt::print("loss {:.6f}, dL/db = [{:.6f}, {:.6f}]\n", out[0].get(0), out[2].get(0), out[2].get(1));

  GradcheckResult check = gradcheck({loss}, {W, b}, feeds);  // central differences in f64
  fmt::print("{}gradcheck {}\n", check.to_string(), check.passed ? "passed" : "FAILED");
  return check.passed ? 0 : 1;
}
