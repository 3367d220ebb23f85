// Mixed precision on the onednn backend (CompileOptions::precision = bf16): matmuls and
// convolutions read their operands rounded to bfloat16 and accumulate in f32. Checked against the
// reference backend run on feeds rounded to bf16 beforehand (the same products, summed in f32 in
// another order), and against the f32 plan (which must differ: the rounding happened).

#include <cmath>
#include <cstring>
#include <map>

#include <gtest/gtest.h>

#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

// f32 -> bf16 -> f32, rounding to nearest even (what vcvtneps2bf16 does; the feeds hold no NaN).
float round_bf16(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  u &= 0xffff0000u;
  std::memcpy(&x, &u, 4);
  return x;
}

// Feeds with values sin(...); `rounded`: rounded to bf16, but for biases (names starting with "b":
// a bias is added in f32, never rounded).
Feeds feeds_of(const std::vector<std::pair<std::string, Shape>>& shapes, bool rounded) {
  Feeds feeds;
  for (const auto& [name, shape] : shapes) {
    Tensor t(DType::f32, shape);
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      const float v = static_cast<float>(std::sin(0.7 * static_cast<double>(i) + static_cast<double>(t.numel())));
      t.set(i, rounded && name[0] != 'b' ? round_bf16(v) : v);
    }
    feeds[name] = t;
  }
  return feeds;
}

// The bf16 plan on `shapes` equals the reference on the rounded feeds (within `tol`, relative,
// floor 1: f32 sums in another order) and differs from the f32 plan somewhere by more than 1e-4.
void expect_bf16(Graph& g, const std::vector<Value>& outs, const std::vector<std::pair<std::string, Shape>>& shapes,
                 double tol = 2e-5) {
  CompileOptions o;
  o.backend = "onednn";
  Plan full = compile(g, outs, o);
  o.precision = Precision::bf16;
  Plan mixed = compile(g, outs, o);
  Plan ref = compile(g, outs);
  std::vector<Tensor> want, f32;
  for (const auto& t : ref.run(feeds_of(shapes, true))) want.push_back(t.clone());
  for (const auto& t : full.run(feeds_of(shapes, false))) f32.push_back(t.clone());
  const auto& got = mixed.run(feeds_of(shapes, false));
  for (std::size_t k = 0; k < want.size(); ++k) {
    double apart = 0;
    for (std::int64_t i = 0; i < want[k].numel(); ++i) {
      ASSERT_NEAR(got[k].get(i), want[k].get(i), tol * std::max(1.0, std::abs(want[k].get(i))))
          << "output " << k << "[" << i << "]\n" << mixed.to_string();
      apart = std::max(apart, std::abs(got[k].get(i) - f32[k].get(i)) / std::max(1.0, std::abs(f32[k].get(i))));
    }
    EXPECT_GT(apart, 1e-4) << "output " << k << " is the f32 result: its operands were not rounded";
  }
}

// bf16 is native exactly when oneDNN's instruction set has the AVX512_BF16 instructions (AMX's
// includes them); AVX2_VNNI, whose value in oneDNN's enumeration is larger, does not.
TEST(OnednnBf16, NativeOnlyWithBf16Instructions) {
  const std::string isa = instruction_sets().onednn;
  EXPECT_EQ(native_bf16(), isa == "avx512_core_bf16" || isa == "avx512_core_amx") << isa;
}

TEST(OnednnBf16, MatmulsRoundTheirOperands) {
  if (!native_bf16()) GTEST_SKIP() << "this CPU has no native bf16 instructions: bf16 plans compute in f32";
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{15, 41}});
  auto w = g.input("w", {DType::f32, Shape{41, 24}});
  auto b = g.input("b", {DType::f32, Shape{24}});
  auto r = g.input("r", {DType::f32, Shape{15, 24}});
  auto y = relu(matmul(x, w) + b);  // a linear step (odd sizes: the conversion's scalar tail too)
  // the gradients are matmuls of transposed operands; r stands in for the incoming gradient
  auto loss = sum(y * r);
  auto grads = gradients(loss, {x, w});
  expect_bf16(g, {y, grads[0], grads[1], matmul(w, x, true, true)},
              {{"x", Shape{15, 41}}, {"w", Shape{41, 24}}, {"b", Shape{24}}, {"r", Shape{15, 24}}});
}

TEST(OnednnBf16, ConvolutionsRoundTheirOperands) {
  if (!native_bf16()) GTEST_SKIP() << "this CPU has no native bf16 instructions: bf16 plans compute in f32";
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{2, 16, 7, 7}});
  auto w = g.input("w", {DType::f32, Shape{8, 16, 3, 3}});
  auto r = g.input("r", {DType::f32, Shape{2, 8, 7, 7}});
  auto y = conv2d(x, w, {1, 1}, {1, 1});
  auto grads = gradients(sum(y * r), {x, w});  // backward data and backward filter of r
  expect_bf16(g, {y, grads[0], grads[1]}, {{"x", Shape{2, 16, 7, 7}}, {"w", Shape{8, 16, 3, 3}}, {"r", Shape{2, 8, 7, 7}}},
              1e-4);
}

// A first layer on images (one input channel) too: its forward and weight gradient read bf16.
TEST(OnednnBf16, FirstLayerConvolutionsRoundTheirOperands) {
  if (!native_bf16()) GTEST_SKIP() << "this CPU has no native bf16 instructions: bf16 plans compute in f32";
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{2, 1, 9, 9}});
  auto w = g.input("w", {DType::f32, Shape{8, 1, 3, 3}});
  auto r = g.input("r", {DType::f32, Shape{2, 8, 7, 7}});
  auto y = conv2d(x, w);
  expect_bf16(g, {y, gradients(sum(y * r), {w})[0]},
              {{"x", Shape{2, 1, 9, 9}}, {"w", Shape{8, 1, 3, 3}}, {"r", Shape{2, 8, 7, 7}}}, 1e-4);
}

// In a bf16 plan the activations and activation gradients passed between convolutions, ReLUs and
// pooling are stored in bf16 (oneDNN layouts with bf16 elements); what the plan returns stays f32.
// A small CNN's loss and gradients stay within bf16's rounding of the f32 plan's (relative L2
// error), and differ from them: values were rounded. With max pooling only the loss is compared:
// two values of a window a rounding apart may swap places, which sends that window's gradient
// elsewhere (as it would in any bf16 network).
TEST(OnednnBf16, ActivationsBetweenLayersAreStoredInBf16) {
  if (!native_bf16()) GTEST_SKIP() << "this CPU has no native bf16 instructions: bf16 plans compute in f32";
  const std::vector<std::pair<std::string, Shape>> shapes = {
      {"x", Shape{4, 1, 12, 12}}, {"k1", Shape{16, 1, 3, 3}}, {"b1", Shape{1, 16, 1, 1}}, {"k2", Shape{20, 16, 3, 3}},
      {"b2", Shape{1, 20, 1, 1}}, {"w", Shape{20, 3}},        {"r", Shape{4, 3}}};
  // Positive values, so that no sum cancels and bf16's roundings stay small relative to each
  // result; the biases of every other channel are so negative that its ReLU is zero throughout
  // (far from zero: no rounding flips a ReLU between 0 and 1, which would move a gradient by its
  // own size).
  Feeds feeds = feeds_of(shapes, false);
  for (auto& [name, t] : feeds) {
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      const double v = std::sin(12.9898 * static_cast<double>(i + t.numel())) * 43758.5453;
      const double u = v - std::floor(v);  // scattered in [0, 1)
      t.set(i, name[0] != 'b' ? 0.1 + 0.9 * u : i % 2 == 0 ? -1e3 : u);
    }
  }
  for (const bool max : {false, true}) {
    SCOPED_TRACE(max ? "max pooling" : "average pooling");
    auto pool = [max](Value v) { return max ? max_pool2d(v, {2, 2}) : avg_pool2d(v, {2, 2}); };
    Graph g;
    std::map<std::string, Value> in;
    for (const auto& [name, shape] : shapes) in.emplace(name, g.input(name, {DType::f32, shape}));
    auto h = pool(relu(conv2d(in.at("x"), in.at("k1")) + in.at("b1")));  // [4, 16, 5, 5]
    h = pool(relu(conv2d(h, in.at("k2")) + in.at("b2")));                // [4, 20, 1, 1]: 20 channels pad to 32
    auto loss = sum(matmul(reshape(h, Shape{4, 20}), in.at("w")) * in.at("r"));
    std::vector<Value> outs = {loss};
    for (const auto& v : gradients(loss, {in.at("x"), in.at("k1"), in.at("b1"), in.at("k2"), in.at("b2"), in.at("w")})) {
      outs.push_back(v);
    }
    CompileOptions o;
    o.backend = "onednn";
    Plan full = compile(g, outs, o);
    o.precision = Precision::bf16;
    Plan mixed = compile(g, outs, o);
    std::vector<Tensor> want;
    for (const auto& t : full.run(feeds)) want.push_back(t.clone());
    const auto& got = mixed.run(feeds);
    EXPECT_NE(mixed.to_string().find(":bf16"), std::string::npos) << mixed.to_string();
    EXPECT_EQ(full.to_string().find(":bf16"), std::string::npos) << full.to_string();
    for (std::size_t k = 0; k < (max ? 1 : want.size()); ++k) {
      ASSERT_EQ(got[k].dtype(), DType::f32);
      double norm = 0, error = 0;
      for (std::int64_t i = 0; i < want[k].numel(); ++i) {
        norm += want[k].get(i) * want[k].get(i);
        error += (got[k].get(i) - want[k].get(i)) * (got[k].get(i) - want[k].get(i));
      }
      const double apart = std::sqrt(error / norm);
      EXPECT_LT(apart, 5e-3) << "output " << k << "\n" << mixed.to_string();
      EXPECT_GT(apart, 1e-5) << "output " << k << " is the f32 result";
    }
  }
}

}  // namespace
}  // namespace symgrad
