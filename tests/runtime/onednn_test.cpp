// The onednn backend against the reference backend: every op, forward and backward (the
// gradient graph of the op), on the op's samples in f32; and the f32 gradient check through
// oneDNN.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/op_cases.hpp"
#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

using Case = testing::OpCase;
using testing::op_case_name;
std::vector<Case> all_cases() { return testing::op_cases(); }

// f32 tensors of deterministic, varied values for feeds: sin(freq i + numel).
Feeds wave_feeds(const std::vector<std::pair<std::string, Shape>>& shapes, double freq) {
  Feeds feeds;
  for (const auto& [name, shape] : shapes) {
    Tensor t(DType::f32, shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      t.set(i, std::sin(freq * static_cast<double>(i) + static_cast<double>(t.numel())));
    }
    feeds[name] = t;
  }
  return feeds;
}

// Runs `outs` on onednn and on reference; every value must agree within tol (relative, floor 1).
// Returns the onednn plan's schedule.
std::string expect_onednn_matches_reference(Graph& g, const std::vector<Value>& outs, const Feeds& feeds,
                                            double tol) {
  CompileOptions o;
  o.backend = "onednn";
  Plan fused = compile(g, outs, o);
  Plan ref = compile(g, outs);
  std::vector<Tensor> want;
  for (const auto& t : ref.run(feeds)) want.push_back(t.clone());
  const auto& got = fused.run(feeds);
  for (std::size_t k = 0; k < want.size(); ++k) {
    for (std::int64_t i = 0; i < want[k].numel(); ++i) {
      EXPECT_NEAR(got[k].get(i), want[k].get(i), tol * std::max(1.0, std::abs(want[k].get(i)))) << k << "[" << i << "]";
    }
  }
  return fused.to_string();
}

// Runs the same feeds on a onednn plan and its reference plan; every value must agree within
// 1e-4 (relative, floor 1). Stops at the first difference, naming the batch and the value.
void expect_runs_agree(Plan& fused, Plan& ref, const Feeds& feeds, const std::string& what) {
  std::vector<Tensor> want;
  for (const auto& t : ref.run(feeds)) want.push_back(t.clone());
  const auto& got = fused.run(feeds);
  for (std::size_t k = 0; k < want.size(); ++k) {
    ASSERT_EQ(got[k].shape(), want[k].shape()) << what << ", output " << k;
    for (std::int64_t i = 0; i < want[k].numel(); ++i) {
      ASSERT_NEAR(got[k].get(i), want[k].get(i), 1e-4 * std::max(1.0, std::abs(want[k].get(i))))
          << what << ", output " << k << "[" << i << "]\n" << fused.to_string();
    }
  }
}

// The line of `schedule` (Plan::to_string) that starts with step `op`, or "" when there is none.
std::string schedule_line(const std::string& schedule, const std::string& op) {
  const auto at = schedule.find(op);
  return at == std::string::npos ? std::string() : schedule.substr(at, schedule.find('\n', at) - at);
}

// Reductions and convolutions sum many terms: their tolerance is looser (as the issue sets it).
double tolerance(const std::string& op) {
  for (const char* loose : {"sum", "mean", "max", "count", "sum_to_like", "conv2d", "matmul",
                            "batch_norm", "softmax", "log_softmax", "softmax_cross_entropy", "mse",
                            "avg_pool2d", "avg_pool2d_backward"}) {
    if (op.rfind(loose, 0) == 0) return 1e-4;
  }
  return 1e-5;
}

// The op on f32 copies of the sample values, plus the gradients of a random projection of its
// outputs with respect to the differentiable inputs.
struct Built {
  Graph graph;
  std::vector<Value> outputs;
  Feeds feeds;
  std::size_t forward_outputs = 0;
};

void build(Built& b, const Case& c) {
  auto values = sample_values(c.sample, 11);
  Attrs attrs = c.sample.attrs;
  if (attrs.has("dtype") && attrs.get_string("dtype") == "f64") attrs.set("dtype", std::string("f32"));
  std::vector<Value> ins, wrt;
  for (std::size_t i = 0; i < values.size(); ++i) {
    Tensor t = values[i].dtype() == DType::f64 ? values[i].to(DType::f32) : values[i];
    const std::string name = "x" + std::to_string(i);
    ins.push_back(b.graph.input(name, t.type()));
    b.feeds[name] = t;
    if (c.sample.inputs[i].differentiable) wrt.push_back(ins.back());
  }
  b.outputs = b.graph.apply(c.op->name, ins, attrs);
  b.forward_outputs = b.outputs.size();
  if (wrt.empty()) return;
  Value loss;
  int k = 0;
  for (const auto& y : b.forward_outputs ? b.outputs : b.outputs) {
    Tensor r(y.type());
    for (std::int64_t i = 0; i < r.numel(); ++i) r.set(i, std::sin(1.0 + i + 7 * k));
    Value term = sum(y * b.graph.constant(r));
    loss = loss.valid() ? add(loss, term) : term;
    ++k;
  }
  for (auto g : gradients(loss, wrt, GradientOptions{true})) b.outputs.push_back(g);
}

class OnednnVsReference : public ::testing::TestWithParam<Case> {};

TEST_P(OnednnVsReference, ForwardAndBackward) {
  const Case& c = GetParam();
  Built b;
  build(b, c);
  CompileOptions ref, dnn;
  dnn.backend = "onednn";
  Plan pr = compile(b.graph, b.outputs, ref);
  Plan pd = compile(b.graph, b.outputs, dnn);
  const auto expect = pr.run(b.feeds);
  std::vector<Tensor> want;
  for (const auto& t : expect) want.push_back(t.clone());
  const auto& got = pd.run(b.feeds);
  const double tol = tolerance(c.op->name);
  for (std::size_t k = 0; k < want.size(); ++k) {
    SCOPED_TRACE(k < b.forward_outputs ? "forward output " + std::to_string(k)
                                       : "gradient " + std::to_string(k - b.forward_outputs));
    ASSERT_EQ(got[k].shape(), want[k].shape());
    for (std::int64_t i = 0; i < want[k].numel(); ++i) {
      const double w = want[k].get(i), g = got[k].get(i);
      ASSERT_LE(std::abs(g - w), tol * std::max(1.0, std::abs(w))) << "element " << i << ": onednn " << g
                                                                   << ", reference " << w;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Registry, OnednnVsReference, ::testing::ValuesIn(all_cases()),
                         op_case_name);

// Float32 gradient check through oneDNN (Caffe-style tolerances), on every op's samples.
class OnednnGradcheck : public ::testing::TestWithParam<Case> {};

TEST_P(OnednnGradcheck, Float32) {
  const Case& c = GetParam();
  auto r = gradcheck_op(*c.op, c.sample, GradcheckOptions::float32());
  EXPECT_TRUE(r.passed) << c.name << "\n" << r.to_string();
}

INSTANTIATE_TEST_SUITE_P(Registry, OnednnGradcheck, ::testing::ValuesIn(all_cases()),
                         op_case_name);

// The ops that must run on the onednn backend's own kernels (oneDNN primitives, the chain kernel
// for small elementwise ops, or a view), never on the reference fallback, when given f32.
TEST(Onednn, CoreOpsRunOnPrimitives) {
  const std::set<std::string> expected = {
      "add", "sub", "mul", "div", "neg", "exp", "log", "sqrt", "square", "abs", "pow", "relu",
      "leaky_relu", "sigmoid", "tanh", "softplus", "equal", "not_equal", "less", "less_equal",
      "greater", "greater_equal", "matmul", "transpose", "reshape", "concat", "slice", "slice_grad",
      "broadcast_to", "broadcast_like", "sum", "mean", "max", "sum_to_like", "softmax",
      "log_softmax", "dropout", "conv2d", "conv2d_backward_data", "conv2d_backward_filter",
      "max_pool2d", "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward", "batch_norm",
      "batch_norm_inference", "batch_norm_backward", "softmax_backward", "relu_backward", "tanh_backward",
      "sigmoid_backward", "linear", "conv2d_bias", "softmax_cross_entropy", "one_hot", "mse", "count",
      "fill_like", "where", "sign"};
  for (const auto& c : all_cases()) {
    if (!expected.count(c.op->name)) continue;
    Built b;
    build(b, c);
    CompileOptions o;
    o.backend = "onednn";
    Plan p = compile(b.graph, {b.outputs.begin(), b.outputs.begin() + static_cast<long>(b.forward_outputs)}, o);
    p.run(b.feeds);
    EXPECT_NE(p.step_backends().at(0), "reference") << c.name;
  }
}

// The same binary, thread count and inputs give the same bits: three SGD steps of a small MLP,
// twice from the same start.
TEST(Onednn, TrainingStepsAreBitwiseReproducible) {
  auto run = [] {
    Graph g;
    auto x = g.input("x", {DType::f32, Shape{Shape::kOpen, 20}});
    auto y = g.input("y", {DType::i32, Shape{Shape::kOpen}});
    auto w1 = g.variable("w1", {DType::f32, Shape{20, 64}});
    auto b1 = g.variable("b1", {DType::f32, Shape{64}});
    auto w2 = g.variable("w2", {DType::f32, Shape{64, 5}});
    auto loss = mean(softmax_cross_entropy(matmul(relu(matmul(x, w1) + b1), w2), y));
    auto grads = gradients(loss, {w1, b1, w2});
    CompileOptions o;
    o.backend = "onednn";
    o.updates = {{"w1", w1 - 0.1 * grads[0]}, {"b1", b1 - 0.1 * grads[1]}, {"w2", w2 - 0.1 * grads[2]}};
    Plan p = compile(g, {loss}, o);
    VariableStore store;
    for (auto [name, shape] : {std::pair{"w1", Shape{20, 64}}, {"b1", Shape{64}}, {"w2", Shape{64, 5}}}) {
      Tensor t(DType::f32, shape);
      for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, 0.3 * std::sin(1.7 * i + t.numel()));
      store.set(name, t);
    }
    Tensor xv(DType::f32, Shape{256, 20}), yv(DType::i32, Shape{256});
    for (std::int64_t i = 0; i < xv.numel(); ++i) xv.set(i, std::cos(0.3 * i));
    for (std::int64_t i = 0; i < 256; ++i) yv.set(i, static_cast<double>(i % 5));
    std::vector<float> bits;
    for (int step = 0; step < 3; ++step) bits.push_back(p.run({{"x", xv}, {"y", yv}}, &store)[0].data<float>()[0]);
    for (const auto& n : store.names()) {
      const Tensor& t = store.get(n);
      bits.insert(bits.end(), t.data<float>(), t.data<float>() + t.numel());
    }
    return bits;
  };
  const auto a = run(), b = run();
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  EXPECT_NE(a[0], a[2]);  // it trained
}

// matmul + bias + relu/tanh become one linear step (bias and activation as oneDNN post-ops), and
// the whole training step still matches the reference backend.
TEST(Onednn, DenseLayersFuseIntoLinearSteps) {
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{Shape::kOpen, 6}});
  auto y = g.input("y", {DType::i32, Shape{Shape::kOpen}});
  auto w1 = g.input("w1", {DType::f32, Shape{6, 8}});
  auto b1 = g.input("b1", {DType::f32, Shape{8}});
  auto w2 = g.input("w2", {DType::f32, Shape{8, 3}});
  auto b2 = g.input("b2", {DType::f32, Shape{3}});
  auto logits = matmul(tanh(matmul(relu(matmul(x, w1) + b1), g.constant(Tensor(DType::f32, Shape{8, 8})) ) ), w2) + b2;
  auto loss = mean(softmax_cross_entropy(logits, y));
  auto grads = gradients(loss, {w1, b1, w2, b2});
  std::vector<Value> outs = {loss};
  outs.insert(outs.end(), grads.begin(), grads.end());
  Feeds feeds = wave_feeds({{"x", Shape{5, 6}}, {"w1", Shape{6, 8}}, {"b1", Shape{8}}, {"w2", Shape{8, 3}},
                            {"b2", Shape{3}}},
                           0.7);
  feeds["y"] = Tensor::from(DType::i32, Shape{5}, {0, 1, 2, 1, 0});
  const std::string schedule = expect_onednn_matches_reference(g, outs, feeds, 1e-5);
  EXPECT_NE(schedule.find("linear"), std::string::npos) << schedule;
}

// A fused layer's output feeding another add (noise on hidden units, a residual connection) and a
// weight that is itself a sum (weight noise): regression test for a crash in layer fusion, which
// read the inputs of a node it had already fused.
TEST(Onednn, FusedLayersFeedingAnAdd) {
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{Shape::kOpen, 6}});
  auto y = g.input("y", {DType::i32, Shape{Shape::kOpen}});
  auto w1 = g.input("w1", {DType::f32, Shape{6, 6}});
  auto b1 = g.input("b1", {DType::f32, Shape{6}});
  auto z = g.input("z", {DType::f32, Shape{6, 6}});
  auto h = relu(matmul(x, w1 + z) + b1);  // the weight perturbed
  auto r = h + x;                         // the layer's output into an add
  auto logits = matmul(relu(matmul(r, w1) + b1) + h, slice(w1, {0, 0}, {6, 3}));
  auto loss = mean(softmax_cross_entropy(logits, y));
  auto grads = gradients(loss, {w1, b1});
  std::vector<Value> outs = {loss, grads[0], grads[1]};
  Feeds feeds = wave_feeds({{"x", Shape{5, 6}}, {"w1", Shape{6, 6}}, {"b1", Shape{6}}, {"z", Shape{6, 6}}}, 0.4);
  feeds["y"] = Tensor::from(DType::i32, Shape{5}, {0, 1, 2, 1, 0});
  const std::string schedule = expect_onednn_matches_reference(g, outs, feeds, 1e-5);
  EXPECT_NE(schedule.find("linear"), std::string::npos) << schedule;
}

// A reshape of an intermediate value shares its buffer (a view) and runs nothing.
TEST(Onednn, ReshapesAreViews) {
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{Shape::kOpen, 6}});
  auto h = reshape(matmul(x, g.constant(Tensor::from(DType::f32, Shape{6, 2}, {1, 0, 0, 1, 1, 1, 0, 0, 2, 2, 1, 0}))),
                   Shape{-1});
  CompileOptions o;
  o.backend = "onednn";
  Plan p = compile(g, {h * 2.0}, o);
  Tensor xv = Tensor::from(DType::f32, Shape{2, 6}, {1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 1});
  EXPECT_EQ(p.run({{"x", xv}})[0].to_vector(), (std::vector<double>{2 * 20, 2 * 15, 2 * 1, 2 * 0}));
  const auto backends = p.step_backends();
  EXPECT_NE(std::find(backends.begin(), backends.end(), "view"), backends.end()) << p.to_string();
}

TEST(Onednn, BadLabelsAreReported) {
  Graph g;
  auto z = g.input("z", {DType::f32, Shape{Shape::kOpen, 3}});
  auto y = g.input("y", {DType::i64, Shape{Shape::kOpen}});
  CompileOptions o;
  o.backend = "onednn";
  Plan p = compile(g, {softmax_cross_entropy(z, y)}, o);
  try {
    p.run({{"z", Tensor(DType::f32, Shape{2, 3})}, {"y", Tensor::from(DType::i64, Shape{2}, {1, 7})}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label 7 at position 1"), std::string::npos) << e.what();
  }
}

// conv2d + [1, O, 1, 1] bias + relu becomes one conv2d_bias step; the training step's values
// still match the reference backend.
TEST(Onednn, ConvLayersFuseIntoConvBiasSteps) {
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{Shape::kOpen, 2, 6, 6}});
  auto w = g.input("w", {DType::f32, Shape{3, 2, 3, 3}});
  auto b = g.input("b", {DType::f32, Shape{1, 3, 1, 1}});
  auto loss = mean(square(max_pool2d(relu(conv2d(x, w, {1, 1}, {1, 1}) + b), {2, 2})));
  auto grads = gradients(loss, {x, w, b});
  std::vector<Value> outs = {loss};
  outs.insert(outs.end(), grads.begin(), grads.end());
  Feeds feeds = wave_feeds({{"x", Shape{2, 2, 6, 6}}, {"w", Shape{3, 2, 3, 3}}, {"b", Shape{1, 3, 1, 1}}}, 0.9);
  const std::string schedule = expect_onednn_matches_reference(g, outs, feeds, 1e-4);
  EXPECT_NE(schedule.find("conv2d_bias"), std::string::npos) << schedule;
}

// oneDNN below AVX2 (ONEDNN_MAX_CPU_ISA=SSE41 or AVX) picks plain layouts for these convolutions:
// the layout tests state what holds from AVX2 up.
bool onednn_below_avx2() {
  const std::string isa = instruction_sets().onednn;
  return isa == "sse41" || isa == "avx";
}

// Between convolutions, pooling and activation gradients the values stay in the blocked layouts
// the convolutions choose (no reorder in between); values the plan returns, or that other ops
// read, are plain. 5 channels pad to the block size, so those buffers are larger than the plain
// tensor. The results match the reference backend, for every batch size the plan sees (at batch 2
// the activation gradients are small enough for the chain kernel, which reads plain tensors).
TEST(Onednn, ConvLayoutsAreKeptBetweenOps) {
  if (onednn_below_avx2()) GTEST_SKIP() << "oneDNN keeps plain layouts below AVX2";
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{Shape::kOpen, 3, 20, 20}});
  auto w1 = g.input("w1", {DType::f32, Shape{5, 3, 3, 3}});
  auto b1 = g.input("b1", {DType::f32, Shape{1, 5, 1, 1}});
  auto w2 = g.input("w2", {DType::f32, Shape{16, 5, 3, 3}});
  auto b2 = g.input("b2", {DType::f32, Shape{1, 16, 1, 1}});
  auto h1 = relu(conv2d(x, w1, {1, 1}, {1, 1}) + b1);                                  // [N, 5, 20, 20]
  auto h2 = tanh(conv2d(max_pool2d(h1, {2, 2}), w2, {1, 1}, {1, 1}) + b2);             // [N, 16, 10, 10]
  auto loss = mean(square(avg_pool2d(h2, {2, 2}, {1, 1})));
  auto grads = gradients(loss, {x, w1, b1, w2, b2});
  std::vector<Value> outs = {loss, max_pool2d(h1, {2, 2})};  // an output read from a blocked value
  outs.insert(outs.end(), grads.begin(), grads.end());
  CompileOptions o;
  o.backend = "onednn";
  Plan fused = compile(g, outs, o);
  Plan ref = compile(g, outs);
  std::string schedule;
  for (std::int64_t n : {4, 2, 4}) {  // a partial batch gets its own primitives and layouts
    Feeds feeds = wave_feeds({{"x", Shape{n, 3, 20, 20}}, {"w1", Shape{5, 3, 3, 3}}, {"b1", Shape{1, 5, 1, 1}},
                              {"w2", Shape{16, 5, 3, 3}}, {"b2", Shape{1, 16, 1, 1}}},
                             0.37);
    expect_runs_agree(fused, ref, feeds, "batch " + std::to_string(n));
    if (HasFatalFailure()) return;
    if (n == 4) schedule = fused.to_string();
  }
  // The schedule names the layouts of the values kept blocked: both convolutions' outputs and
  // the gradients flowing back through them: average pooling's, tanh's and max pooling's (ReLU's
  // is taken on the pooled tensor, before max pooling's backward; oneDNN picks blocked layouts
  // for these shapes on any x86 CPU with AVX2 or newer).
  std::size_t blocked = 0;
  for (std::size_t at = schedule.find("(a"); at != std::string::npos; at = schedule.find("(a", at + 1)) ++blocked;
  EXPECT_GE(blocked, 5u) << schedule;
}

// Batch normalization between a convolution and its activation, as Sequential builds it (with the
// count of the convolution's output for the running variance): the convolution's blocked layout
// is kept through batch_norm, relu and pooling and back through their gradients (oneDNN's JIT
// batch normalization takes blocked layouts; its plain-layout kernel is several times slower).
// Training and inference (running statistics) match the reference.
TEST(Onednn, BatchNormKeepsConvLayouts) {
  if (onednn_below_avx2()) GTEST_SKIP() << "oneDNN keeps plain layouts below AVX2";
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{Shape::kOpen, 3, 12, 12}});
  auto w = g.input("w", {DType::f32, Shape{20, 3, 3, 3}});
  auto b = g.input("b", {DType::f32, Shape{1, 20, 1, 1}});
  auto gamma = g.input("gamma", {DType::f32, Shape{20}});
  auto beta = g.input("beta", {DType::f32, Shape{20}});
  auto rm = g.input("rm", {DType::f32, Shape{20}});
  auto rv = g.input("rv", {DType::f32, Shape{20}});
  auto h = conv2d(x, w, {1, 1}, {1, 1}) + b;  // [N, 20, 12, 12]: 20 channels pad to 32
  auto bn = batch_norm(h, gamma, beta, 1e-5);
  auto n = count(h, {0, 2, 3});
  auto loss = mean(square(max_pool2d(relu(bn.y), {2, 2})));
  auto grads = gradients(loss, {x, w, b, gamma, beta});
  std::vector<Value> train = {loss, bn.mean, bn.var * n / (n - 1.0)};
  train.insert(train.end(), grads.begin(), grads.end());
  std::vector<Value> eval = {max_pool2d(relu(batch_norm_inference(h, gamma, beta, rm, rv, 1e-5)), {2, 2})};
  for (const auto* outs : {&train, &eval}) {
    CompileOptions o;
    o.backend = "onednn";
    Plan fused = compile(g, *outs, o);
    Plan ref = compile(g, *outs);
    std::string schedule;
    for (std::int64_t batch : {4, 2}) {
      Feeds feeds = wave_feeds({{"x", Shape{batch, 3, 12, 12}}, {"w", Shape{20, 3, 3, 3}}, {"b", Shape{1, 20, 1, 1}},
                                {"gamma", Shape{20}}, {"beta", Shape{20}}, {"rm", Shape{20}}},
                               0.41);
      Tensor var(DType::f32, Shape{20});
      for (std::int64_t c = 0; c < 20; ++c) var.set(c, 0.5 + 0.1 * static_cast<double>(c));
      feeds["rv"] = var;
      expect_runs_agree(fused, ref, feeds, "batch " + std::to_string(batch));
      if (HasFatalFailure()) return;
      if (batch == 4) schedule = fused.to_string();
    }
    // the batch normalization step's output (and, training, its gradient's) stays blocked by
    // channels, in whatever block the CPU's vectors give the convolution (16 on AVX-512, 8 on AVX2)
    const std::regex blocked(R"(\(aBcd[0-9]+b\))");
    const std::string op = outs == &train ? "batch_norm [" : "batch_norm_inference [";
    EXPECT_TRUE(std::regex_search(schedule_line(schedule, op), blocked)) << schedule;
    if (outs == &train) {
      EXPECT_TRUE(std::regex_search(schedule_line(schedule, "batch_norm_backward ["), blocked)) << schedule;
    }
  }
}

// The buffer a step writes output k to ("bufN" in the schedule), or -1.
int output_buffer(const std::string& line, std::size_t k = 0) {
  std::size_t at = line.find("-> ");
  for (std::size_t i = 0; i <= k && at != std::string::npos; ++i) at = line.find("buf", at + 1);
  return at == std::string::npos ? -1 : std::stoi(line.substr(at + 3));
}

// Activations and their gradients write over an input that no later step reads (oneDNN's eltwise
// primitives run in place; KernelRegistry::allow_in_place): relu over batch normalization's output,
// relu_backward over the gradient pooling's backward gives it. An input that lives on (an output of
// the plan) keeps its buffer. Results match the reference either way.
TEST(Onednn, ActivationsWriteOverInputsThatDie) {
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{4, 3, 12, 12}});
  auto w = g.input("w", {DType::f32, Shape{16, 3, 3, 3}});
  auto gamma = g.input("gamma", {DType::f32, Shape{16}});
  auto beta = g.input("beta", {DType::f32, Shape{16}});
  auto bn = batch_norm(conv2d(x, w, {1, 1}, {1, 1}), gamma, beta, 1e-5);
  // (average pooling: after max pooling, ReLU's gradient would move before the pooling's backward)
  auto loss = mean(square(avg_pool2d(relu(bn.y), {2, 2})));
  auto grads = gradients(loss, {w, gamma, beta});
  Feeds feeds = wave_feeds({{"x", Shape{4, 3, 12, 12}}, {"w", Shape{16, 3, 3, 3}}, {"gamma", Shape{16}},
                            {"beta", Shape{16}}},
                           0.29);
  for (bool keep : {false, true}) {
    std::vector<Value> outs = {loss};
    outs.insert(outs.end(), grads.begin(), grads.end());
    if (keep) outs.push_back(bn.y);  // relu's input is now an output: it must survive relu
    CompileOptions o;
    o.backend = "onednn";
    Plan fused = compile(g, outs, o);
    Plan ref = compile(g, outs);
    expect_runs_agree(fused, ref, feeds, keep ? "bn.y returned" : "bn.y dies at relu");
    if (HasFatalFailure()) return;
    const std::string schedule = fused.to_string();
    const int bn_out = output_buffer(schedule_line(schedule, "batch_norm ["));
    const int relu_out = output_buffer(schedule_line(schedule, "relu ["));
    const int pool_grad = output_buffer(schedule_line(schedule, "avg_pool2d_backward ["));
    const int relu_grad = output_buffer(schedule_line(schedule, "relu_backward ["));
    ASSERT_GE(bn_out, 0) << schedule;
    ASSERT_GE(relu_out, 0) << schedule;
    ASSERT_GE(relu_grad, 0) << schedule;
    EXPECT_EQ(relu_grad, pool_grad) << schedule;
    if (keep) {
      EXPECT_NE(relu_out, bn_out) << schedule;
    } else {
      EXPECT_EQ(relu_out, bn_out) << schedule;
    }
  }
}

// A convolution's weight and bias gradients (conv2d_backward_filter and sum_to_like of the same g)
// become one conv2d_backward_filter_bias step: oneDNN's backward-weights primitive sums the bias
// gradient in the same pass over g. The bias gradient is an output here (its value renamed to the
// fused node's second output) and is also read by a later op; both match the reference.
TEST(Onednn, ConvBiasGradientComesWithTheWeights) {
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{Shape::kOpen, 3, 10, 10}});
  auto w = g.input("w", {DType::f32, Shape{16, 3, 3, 3}});
  auto b = g.input("b", {DType::f32, Shape{1, 16, 1, 1}});
  auto loss = mean(square(max_pool2d(relu(conv2d(x, w) + b), {2, 2})));
  auto grads = gradients(loss, {w, b});
  std::vector<Value> outs = {loss, grads[0], grads[1], sum(square(grads[1]))};
  CompileOptions o;
  o.backend = "onednn";
  Plan fused = compile(g, outs, o);
  Plan ref = compile(g, outs);
  Feeds feeds = wave_feeds({{"x", Shape{4, 3, 10, 10}}, {"w", Shape{16, 3, 3, 3}}, {"b", Shape{1, 16, 1, 1}}}, 0.53);
  expect_runs_agree(fused, ref, feeds, "fused bias gradient");
  const std::string schedule = fused.to_string();
  EXPECT_NE(schedule.find("conv2d_backward_filter_bias"), std::string::npos) << schedule;
  EXPECT_EQ(schedule.find("sum_to_like"), std::string::npos) << schedule;
  EXPECT_EQ(ref.to_string().find("conv2d_backward_filter_bias"), std::string::npos);  // the oracle stays op by op
}

// ReLU's gradient moves before max pooling's backward (rewrites.hpp): relu_backward runs on the
// pooled tensor, and the gradients equal the reference backend's, which runs the graph as built.
// Windows of 2x2, 3x3 with stride 2 and padding 1, and overlapping 2x2 with stride 1 (a position
// the maximum of several windows); the ReLU's zeros make windows whose maximum is 0 and ties. Not
// where pooling's backward is itself kept (an output).
TEST(Onednn, ReluGradientMovesBeforeMaxPoolBackward) {
  struct Window {
    Axes kernel, stride, padding;
  };
  for (const Window& win : {Window{{2, 2}, {2, 2}, {0, 0}}, Window{{3, 3}, {2, 2}, {1, 1}}, Window{{2, 2}, {1, 1}, {0, 0}}}) {
    for (bool keep : {false, true}) {
      Graph g;
      auto x = g.input("x", {DType::f32, Shape{Shape::kOpen, 3, 9, 9}});
      auto w = g.input("w", {DType::f32, Shape{8, 3, 3, 3}});
      auto b = g.input("b", {DType::f32, Shape{1, 8, 1, 1}});
      auto y = relu(conv2d(x, w, {1, 1}, {1, 1}) + b);
      auto p = max_pool2d(y, win.kernel, win.stride, win.padding);
      auto loss = mean(square(p - 0.1));
      auto grads = gradients(loss, {x, w, b});
      std::vector<Value> outs = {loss};
      outs.insert(outs.end(), grads.begin(), grads.end());
      const Value pool_grad = [&] {  // max_pool2d_backward's value, when it is to be kept
        for (std::int32_t id = 0; id < static_cast<std::int32_t>(g.size()); ++id) {
          if (g.node(id).kind == NodeKind::op && g.node(id).op->name == "max_pool2d_backward") return Value{&g, id, 0};
        }
        return Value{};
      }();
      ASSERT_TRUE(pool_grad.valid());
      if (keep) outs.push_back(pool_grad);
      CompileOptions o;
      o.backend = "onednn";
      Plan fused = compile(g, outs, o);
      Plan ref = compile(g, outs);
      const std::string what = fmt::format("kernel {}, stride {}{}", win.kernel[0], win.stride[0], keep ? ", kept" : "");
      // biases below zero: a third of the ReLU's outputs are 0
      Feeds feeds = wave_feeds({{"x", Shape{3, 3, 9, 9}}, {"w", Shape{8, 3, 3, 3}}}, 0.71);
      feeds["b"] = Tensor(DType::f32, Shape{1, 8, 1, 1});
      for (std::int64_t c = 0; c < 8; ++c) feeds["b"].set(c, -0.4 + 0.1 * static_cast<double>(c));
      expect_runs_agree(fused, ref, feeds, what);
      if (HasFatalFailure()) return;
      const std::string schedule = fused.to_string();
      const std::string mask = schedule_line(schedule, "relu_backward [");
      ASSERT_FALSE(mask.empty()) << what << "\n" << schedule;
      const bool on_pooled = mask.find("f32[3, 8, 9, 9]") == std::string::npos;
      EXPECT_EQ(on_pooled, !keep) << what << "\n" << schedule;
      EXPECT_EQ(schedule.find("relu_backward [") < schedule.find("max_pool2d_backward ["), !keep) << what << "\n" << schedule;
    }
  }
}

// Chains merge an add or sub with a product used nowhere else into one pass (muladd, submul);
// a product that is also an output, or read twice, stays its own instruction. Values match the
// reference either way.
TEST(Onednn, ChainsMergeProductsIntoTheirSums) {
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{5000}});
  auto w = g.input("w", {DType::f32, Shape{5000}});
  auto v = g.input("v", {DType::f32, Shape{5000}});
  auto shared = x * w;                               // read twice: not merged
  auto outs = std::vector<Value>{x * 0.9 + w * 0.1,  // add of a product: muladd
                                 v - x * w * 2.0,    // sub of a product: submul
                                 shared + v, shared * v,
                                 sqrt(abs(v)) + x * v};  // product as the second operand
  auto out_product = x * v;
  outs.push_back(out_product + w);  // out_product is an output too: not merged
  outs.push_back(out_product);
  Feeds feeds = wave_feeds({{"x", Shape{5000}}, {"w", Shape{5000}}, {"v", Shape{5000}}}, 0.3);
  expect_onednn_matches_reference(g, outs, feeds, 1e-6);
}

// A chain over a tensor larger than the caches runs threaded, updates two
// variables in place and streams a fresh output past the caches; its length is not a multiple of
// the kernel's block, and it reads a scalar and a repeating row. Values match the reference.
TEST(Onednn, ChainsOverLargeTensorsMatchTheReference) {
  constexpr std::int64_t n = (std::int64_t{1} << 21) + 3 * 7;  // 8 MiB of f32 and a partial block
  Graph g;
  const TensorType t{DType::f32, Shape{n / 3, 3}};
  auto p = g.variable("p", t), m = g.variable("m", t);
  auto grad = g.input("g", t);
  auto row = g.input("row", {DType::f32, Shape{3}});
  auto lr = g.input("lr", {DType::f32, Shape{}});
  auto m2 = m * 0.9 + grad * row;
  auto p2 = p - lr * m2 / (sqrt(abs(grad)) + 1e-3);
  auto fresh = p2 * m2 + 1.0;  // written to its own buffer, not to a variable
  Feeds feeds = wave_feeds({{"g", t.shape}, {"row", Shape{3}}}, 0.01);
  feeds["lr"] = Tensor::from(DType::f32, Shape{}, {0.5});
  auto run = [&](const std::string& backend) {
    CompileOptions o;
    o.backend = backend;
    o.updates = {{"p", p2}, {"m", m2}};
    Plan plan = compile(g, {fresh}, o);
    VariableStore store;
    Feeds start = wave_feeds({{"p", t.shape}, {"m", t.shape}}, 0.02);
    store.set("p", start["p"]);
    store.set("m", start["m"]);
    std::vector<Tensor> got;
    plan.run(feeds, &store);
    got.push_back(plan.run(feeds, &store)[0].clone());  // the second step reads updated state
    got.push_back(store.get("p").clone());
    got.push_back(store.get("m").clone());
    return std::pair{got, plan.to_string()};
  };
  const auto [want, ref_plan] = run("reference");
  const auto [got, plan] = run("onednn");
  EXPECT_NE(plan.find("chain of"), std::string::npos) << plan;
  EXPECT_NE(plan.find("in place 'p'"), std::string::npos) << plan;
  for (std::size_t k = 0; k < want.size(); ++k) {
    std::int64_t bad = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const double w = want[k].get(i), d = got[k].get(i);
      if (std::abs(d - w) > 1e-5 * std::max(1.0, std::abs(w)) && bad++ < 5) {
        ADD_FAILURE() << "value " << k << "[" << i << "]: onednn " << d << ", reference " << w;
      }
    }
    EXPECT_EQ(bad, 0) << "value " << k;
  }
}

TEST(Threads, CountIsSetAndChecked) {
  const int before = num_threads();
  set_num_threads(1);
  EXPECT_EQ(num_threads(), 1);
  set_num_threads(before);
  EXPECT_EQ(num_threads(), before);
  EXPECT_THROW(set_num_threads(0), UsageError);
}

TEST(Onednn, NoFallbackIsAnErrorForUnhandledTypes) {
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{2}});
  CompileOptions o;
  o.backend = "onednn";
  o.fallback = "";
  auto a = g.input("a", {DType::f64, Shape{2, 2}});
  EXPECT_THROW(compile(g, {matmul(a, a)}, o), UsageError);  // a oneDNN kernel, but not for f64
  EXPECT_THROW(compile(g, {sign(x)}, o), UsageError);  // sign has no oneDNN kernel at all
}

TEST(Onednn, NewBatchSizeGetsItsOwnPrimitives) {
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{Shape::kOpen, 3}});
  auto w = g.input("w", {DType::f32, Shape{3, 2}});
  CompileOptions o;
  o.backend = "onednn";
  Plan p = compile(g, {relu(matmul(x, w))}, o);
  Tensor wv = Tensor::from(DType::f32, Shape{3, 2}, {1, 0, 0, 1, 1, 1});
  for (std::int64_t n : {4, 1, 4, 3}) {
    Tensor xv(DType::f32, Shape{n, 3});
    xv.fill(1.0);
    const auto& y = p.run({{"x", xv}, {"w", wv}})[0];
    ASSERT_EQ(y.shape(), (Shape{n, 2}));
    for (std::int64_t i = 0; i < y.numel(); ++i) EXPECT_EQ(y.get(i), 2.0);
  }
}

}  // namespace
}  // namespace symgrad
