#include <cmath>
#include <tuple>

#include <gtest/gtest.h>

#include "support/tensors.hpp"
#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

using symgrad::testing::vec;

TEST(Plan, DeadNodesAreEliminated) {
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{3}});
  auto used = exp(x);
  auto unused = log(x) * tanh(x);
  (void)unused;
  Plan p = compile(g, {used});
  EXPECT_EQ(p.num_steps(), 1u);
}

TEST(Plan, IdenticalNodesAreMerged) {
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{3}});
  auto a = exp(x) * 2.0;
  auto b = exp(x) * 2.0;  // same op, inputs and attributes; the constant 2 merges too
  Plan merged = compile(g, {a + b});
  EXPECT_EQ(merged.num_steps(), 3u);  // exp, mul, add
  CompileOptions no_merge;
  no_merge.merge_identical = false;
  Plan plain = compile(g, {a + b}, no_merge);
  EXPECT_EQ(plain.num_steps(), 5u);
  auto r1 = merged.run({{"x", vec({0, 1, 2})}})[0].to_vector();
  auto r2 = plain.run({{"x", vec({0, 1, 2})}})[0].to_vector();
  EXPECT_EQ(r1, r2);
}

TEST(Plan, BuffersAreReusedByLiveness) {
  // a chain of 10 elementwise ops on 1000 doubles needs two live buffers at a time, not ten
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{1000}});
  Value h = x;
  for (int i = 0; i < 10; ++i) h = tanh(h);
  Plan p = compile(g, {h});
  EXPECT_EQ(p.unshared_bytes(), 10u * 8000u);
  EXPECT_LE(p.peak_bytes(), 2u * 8000u);
  Tensor in(DType::f64, Shape{1000});
  in.fill(0.5);
  double expect = 0.5;
  for (int i = 0; i < 10; ++i) expect = std::tanh(expect);
  EXPECT_DOUBLE_EQ(p.run({{"x", in}})[0].get(999), expect);
}

TEST(Plan, RunsManyTimesWithoutReallocating) {
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{Shape::kOpen, 2}});
  auto y = sum(square(x), {1});
  Plan p = compile(g, {y});
  Tensor a = Tensor::from(DType::f64, Shape{2, 2}, {1, 2, 3, 4});
  const void* first = p.run({{"x", a}})[0].raw();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(p.run({{"x", a}})[0].raw(), first);
  // another batch size gets new shapes; going back reuses the (large enough) buffers
  Tensor b = Tensor::from(DType::f64, Shape{1, 2}, {1, 1});
  EXPECT_EQ(p.run({{"x", b}})[0].to_vector(), (std::vector<double>{2}));
  EXPECT_EQ(p.run({{"x", a}})[0].to_vector(), (std::vector<double>{5, 25}));
}

TEST(Plan, FeedsAreCheckedByName) {
  Graph g;
  auto x = g.input("images", {DType::f32, Shape{Shape::kOpen, 4}});
  Plan p = compile(g, {exp(x)});
  auto expect_error = [&](const Feeds& f, const std::string& needle) {
    try {
      p.run(f);
      FAIL() << "expected FeedError with " << needle;
    } catch (const FeedError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error({}, "'images'");
  expect_error({{"images", Tensor(DType::f64, Shape{2, 4})}}, "f32[?, 4]");
  expect_error({{"images", Tensor(DType::f32, Shape{2, 5})}}, "f32[2, 5]");
  expect_error({{"images", Tensor(DType::f32, Shape{2, 4})}, {"imgaes", Tensor(DType::f32, Shape{1})}},
               "unknown feed 'imgaes'");
  EXPECT_NO_THROW(p.run({{"images", Tensor(DType::f32, Shape{3, 4})}}));
}

// Feeds and variables of the wrong shape or dtype are refused before any kernel runs, on both
// backends (oneDNN's primitives do not check shapes at execution: an unchecked one would read and
// write out of bounds), naming the input or variable and both types.
TEST(Plan, WrongFeedsAndVariablesAreRefusedOnEveryBackend) {
  for (const std::string backend : {"reference", "onednn"}) {
    SCOPED_TRACE(backend);
    Graph g;
    auto x = g.input("x", {DType::f32, Shape{Shape::kOpen, 4}});
    auto w = g.variable("W", {DType::f32, Shape{4, 3}});
    CompileOptions o;
    o.backend = backend;
    Plan p = compile(g, {relu(matmul(x, w))}, o);
    VariableStore store;
    store.set("W", Tensor(DType::f32, Shape{4, 3}));
    auto error = [&](const Feeds& f) -> std::string {
      try {
        p.run(f, &store);
      } catch (const FeedError& e) {
        return e.what();
      }
      return "no error";
    };
    EXPECT_NO_THROW(p.run({{"x", Tensor(DType::f32, Shape{2, 4})}}, &store));
    EXPECT_NE(error({{"x", Tensor(DType::f32, Shape{2, 5})}}).find("f32[2, 5]"), std::string::npos)
        << error({{"x", Tensor(DType::f32, Shape{2, 5})}});
    EXPECT_NE(error({{"x", Tensor(DType::f64, Shape{2, 4})}}).find("'x'"), std::string::npos);
    EXPECT_NE(error({{"x", Tensor(DType::f32, Shape{8})}}).find("'x'"), std::string::npos);
    store.set("W", Tensor(DType::f32, Shape{5, 3}));
    const std::string e = error({{"x", Tensor(DType::f32, Shape{2, 4})}});
    EXPECT_NE(e.find("'W'"), std::string::npos) << e;
    EXPECT_NE(e.find("f32[5, 3]"), std::string::npos) << e;
    store.set("W", Tensor(DType::f64, Shape{4, 3}));
    EXPECT_NE(error({{"x", Tensor(DType::f32, Shape{2, 4})}}).find("'W'"), std::string::npos);
    store.erase("W");
    EXPECT_NE(error({{"x", Tensor(DType::f32, Shape{2, 4})}}).find("'W'"), std::string::npos);
  }
}

TEST(Plan, VariablesAndUpdates) {
  // one step of gradient descent inside the plan: w <- w - 0.1 dL/dw with L = sum((w - t)^2)
  Graph g;
  auto w = g.variable("w", {DType::f64, Shape{2}});
  auto t = g.input("t", {DType::f64, Shape{2}});
  auto loss = sum(square(w - t));
  auto dw = gradients(loss, {w})[0];
  CompileOptions o;
  o.updates["w"] = w - 0.1 * dw;
  Plan p = compile(g, {loss}, o);
  VariableStore store;
  store.set("w", vec({1, 1}));
  EXPECT_THROW(p.run({{"t", vec({0, 0})}}), FeedError);  // no store
  double last = 1e9;
  for (int i = 0; i < 60; ++i) {  // w - t shrinks by 0.8 a step
    double l = p.run({{"t", vec({3, -1})}}, &store)[0].get(0);
    EXPECT_LT(l, last);
    last = l;
  }
  EXPECT_NEAR(store.get("w").get(0), 3.0, 1e-3);
  EXPECT_NEAR(store.get("w").get(1), -1.0, 1e-3);
  VariableStore wrong;
  wrong.set("w", vec({1, 1, 1}));
  EXPECT_THROW(p.run({{"t", vec({0, 0})}}, &wrong), FeedError);
}

// m <- 0.9 m + g; w <- w - 0.1 m: on onednn each update is one fused chain written straight into
// the variable's storage; the reference backend copies. Both give the same numbers.
TEST(Plan, InPlaceUpdatesMatchCopiedUpdates) {
  Graph g;
  auto w = g.variable("w", {DType::f32, Shape{1000}});
  auto m = g.variable("m", {DType::f32, Shape{1000}});
  auto grad = g.input("g", {DType::f32, Shape{1000}});
  auto m2 = m * 0.9 + grad;
  auto w2 = w - 0.1 * m2;
  auto run = [&](const std::string& backend, bool read_old_w) {
    // reading the old w after the update's chain forbids writing w in place
    auto loss = read_old_w ? sum(square(w)) : sum(square(m2));
    CompileOptions o;
    o.backend = backend;
    o.updates = {{"w", w2}, {"m", m2}};
    Plan p = compile(g, {loss}, o);
    VariableStore store;
    Tensor w0(DType::f32, Shape{1000}), gv(DType::f32, Shape{1000});
    for (int i = 0; i < 1000; ++i) {
      w0.set(i, std::sin(i));
      gv.set(i, std::cos(i));
    }
    store.set("w", w0);
    store.set("m", Tensor(DType::f32, Shape{1000}));
    std::vector<double> losses;
    for (int step = 0; step < 3; ++step) losses.push_back(p.run({{"g", gv}}, &store)[0].get(0));
    return std::tuple{losses, store.get("w").to_vector(), p.to_string(), p.peak_bytes()};
  };
  for (bool read_old_w : {false, true}) {
    SCOPED_TRACE(read_old_w ? "loss reads the old w" : "loss reads only the new m");
    auto [l_ref, w_ref, s_ref, peak_ref] = run("reference", read_old_w);
    auto [l_dnn, w_dnn, s_dnn, peak_dnn] = run("onednn", read_old_w);
    EXPECT_NE(s_dnn.find("in place 'm'"), std::string::npos) << s_dnn;
    EXPECT_EQ(s_dnn.find("in place 'w'") != std::string::npos, !read_old_w) << s_dnn;
    if (!read_old_w) {
      EXPECT_LT(peak_dnn, peak_ref);
    }
    for (std::size_t i = 0; i < 3; ++i) EXPECT_NEAR(l_dnn[i], l_ref[i], 1e-4 * l_ref[i]);
    for (std::size_t i = 0; i < w_ref.size(); ++i) EXPECT_NEAR(w_dnn[i], w_ref[i], 1e-5);
    EXPECT_NE(l_ref[0], l_ref[1]);  // the updates happened
  }
}

TEST(Plan, MissingKernelBackendIsAClearError) {
  Graph g;
  auto x = g.input("x", {DType::f64, Shape{2}});
  CompileOptions o;
  o.backend = "tpu";
  o.fallback = "";
  try {
    compile(g, {exp(x)}, o);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'tpu'"), std::string::npos);
  }
}

TEST(Plan, RunTimeBroadcastMismatchNamesTheShapes) {
  Graph g;
  auto a = g.input("a", {DType::f64, Shape{Shape::kOpen}});
  auto b = g.input("b", {DType::f64, Shape{Shape::kOpen}});
  Plan p = compile(g, {a + b});
  EXPECT_THROW(p.run({{"a", vec({1, 2})}, {"b", vec({1, 2, 3})}}), ShapeError);
}

// run()'s OutputReady: each output once, as soon as its producer has run, while later steps
// still run: here the step after it fails, and the output was reported before that failure.
TEST(Plan, OutputsAreReportedAsSoonAsTheyAreFinished) {
  for (const char* backend : {"reference", "onednn"}) {
    SCOPED_TRACE(backend);
    Graph g;
    auto x = g.input("x", {DType::f32, Shape{2, 3}});
    auto y = g.input("y", {DType::i32, Shape{2}});
    auto early = matmul(x, transpose(x));                   // 2 x 2
    auto late = mean(softmax_cross_entropy(x, y)) * 2.0f;  // a label out of range fails in its kernel
    CompileOptions o;
    o.backend = backend;
    Plan p = compile(g, {late, x, early}, o);
    EXPECT_EQ(p.output_order(), (std::vector<std::size_t>{1, 2, 0}));  // the input, then by producer
    Tensor labels(DType::i32, Shape{2});
    labels.data<std::int32_t>()[0] = 1;
    labels.data<std::int32_t>()[1] = 2;
    Tensor xs(DType::f32, Shape{2, 3});
    for (std::int64_t i = 0; i < 6; ++i) xs.data<float>()[i] = static_cast<float>(i);
    std::vector<std::size_t> seen;
    std::vector<double> early_value;
    auto ready = [&](std::size_t index, const Tensor& value) {
      seen.push_back(index);
      if (index == 2) early_value = value.to_vector();
    };
    const auto& out = p.run({{"x", xs}, {"y", labels}}, nullptr, ready);
    EXPECT_EQ(seen, (std::vector<std::size_t>{1, 2, 0}));
    EXPECT_EQ(early_value, out[2].to_vector());
    EXPECT_EQ(early_value, (std::vector<double>{5, 14, 14, 50}));
    seen.clear();
    labels.data<std::int32_t>()[1] = 7;
    EXPECT_THROW(p.run({{"x", xs}, {"y", labels}}, nullptr, ready), Error);
    EXPECT_EQ(seen, (std::vector<std::size_t>{1, 2}));  // reported before the loss's kernel failed
  }
}

}  // namespace
}  // namespace symgrad
