#include "models.hpp"

#include <cmath>

namespace symgrad::bench {
namespace {

// A parameter with He-scaled deterministic values (the benchmark needs no real initializer).
Value parameter(TrainStep& s, const std::string& name, const Shape& shape, std::int64_t fan_in) {
  Tensor t(DType::f32, shape);
  const double scale = fan_in > 0 ? std::sqrt(2.0 / static_cast<double>(fan_in)) : 0.0;
  for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, scale * std::sin(0.37 * static_cast<double>(i)));
  s.store.set(name, t);
  return s.graph->variable(name, t.type());
}

Tensor synthetic(const Shape& shape) {
  Tensor t(DType::f32, shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, std::cos(0.11 * static_cast<double>(i)));
  return t;
}

Tensor labels(std::int64_t n, std::int64_t classes) {
  Tensor t(DType::i32, Shape{n});
  for (std::int64_t i = 0; i < n; ++i) t.set(i, static_cast<double>((i * 7) % classes));
  return t;
}

// Compiles loss, gradients and the SGD update w <- w - lr dw of every parameter.
void finish(TrainStep& s, Value loss, const std::vector<Value>& params, const std::string& backend,
            Precision precision) {
  auto grads = gradients(loss, params);
  Value lr = s.graph->input("lr", {DType::f32, Shape{}});
  s.feeds["lr"] = Tensor::scalar(DType::f32, 0.01);
  CompileOptions o;
  o.backend = backend;
  o.precision = precision;
  for (std::size_t i = 0; i < params.size(); ++i) {
    o.updates[params[i].producer().name] = params[i] - lr * grads[i];
  }
  s.plan = std::make_unique<Plan>(compile(*s.graph, {loss}, o));
}

}  // namespace

MlpLoss mlp_loss(const std::vector<std::int64_t>& widths, std::int64_t batch) {
  MlpLoss m;
  TrainStep& s = m.parts;
  Graph& g = *s.graph;
  Value x = g.input("x", {DType::f32, Shape{Shape::kOpen, widths[0]}});
  Value y = g.input("y", {DType::i32, Shape{Shape::kOpen}});
  std::vector<Value> params;
  Value h = x;
  for (std::size_t l = 0; l + 1 < widths.size(); ++l) {
    const std::string name = "dense" + std::to_string(l + 1);
    Value w = parameter(s, name + "/W", Shape{widths[l], widths[l + 1]}, widths[l]);
    Value b = parameter(s, name + "/b", Shape{widths[l + 1]}, 0);
    params.insert(params.end(), {w, b});
    h = matmul(h, w) + b;
    if (l + 2 < widths.size()) h = relu(h);
  }
  m.loss = mean(softmax_cross_entropy(h, y));
  m.params = params;
  s.feeds["x"] = synthetic(Shape{batch, widths[0]});
  s.feeds["y"] = labels(batch, widths.back());
  return m;
}

TrainStep mlp_step(const std::vector<std::int64_t>& widths, std::int64_t batch, const std::string& backend,
                   Precision precision) {
  MlpLoss m = mlp_loss(widths, batch);
  finish(m.parts, m.loss, m.params, backend, precision);
  return std::move(m.parts);
}

TrainStep cnn_step(std::int64_t batch, const std::string& backend, Precision precision) {
  TrainStep s;
  Graph& g = *s.graph;
  Value x = g.input("x", {DType::f32, Shape{Shape::kOpen, 1, 28, 28}});
  Value y = g.input("y", {DType::i32, Shape{Shape::kOpen}});
  Value k1 = parameter(s, "conv1/W", Shape{32, 1, 3, 3}, 9);
  Value c1 = parameter(s, "conv1/b", Shape{1, 32, 1, 1}, 0);
  Value k2 = parameter(s, "conv2/W", Shape{64, 32, 3, 3}, 288);
  Value c2 = parameter(s, "conv2/b", Shape{1, 64, 1, 1}, 0);
  Value w3 = parameter(s, "dense1/W", Shape{1600, 128}, 1600);
  Value b3 = parameter(s, "dense1/b", Shape{128}, 0);
  Value w4 = parameter(s, "dense2/W", Shape{128, 10}, 128);
  Value b4 = parameter(s, "dense2/b", Shape{10}, 0);
  Value h = max_pool2d(relu(conv2d(x, k1) + c1), {2, 2});   // [N, 32, 13, 13]
  h = max_pool2d(relu(conv2d(h, k2) + c2), {2, 2});         // [N, 64, 5, 5]
  h = relu(matmul(reshape(h, Shape{-1, 1600}), w3) + b3);
  Value loss = mean(softmax_cross_entropy(matmul(h, w4) + b4, y));
  s.feeds["x"] = synthetic(Shape{batch, 1, 28, 28});
  s.feeds["y"] = labels(batch, 10);
  finish(s, loss, {k1, c1, k2, c2, w3, b3, w4, b4}, backend, precision);
  return s;
}

}  // namespace symgrad::bench
