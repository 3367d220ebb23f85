// Mixed precision on the onednn backend (CompileOptions::precision = bf16): matmuls and
// convolutions read their operands rounded to bfloat16 and accumulate in f32. Checked against the
// reference backend run on feeds rounded to bf16 beforehand (the same products, summed in f32 in
// another order), and against the f32 plan (which must differ: the rounding happened).

#include <cmath>
#include <cstring>

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

// A convolution with fewer than 16 input channels (a first layer on images) stays f32: there
// rounding its image-sized operands costs more time than bf16 saves.
TEST(OnednnBf16, FirstLayerConvolutionsStayF32) {
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{2, 3, 9, 9}});
  auto w = g.input("w", {DType::f32, Shape{8, 3, 3, 3}});
  auto y = conv2d(x, w);
  CompileOptions o;
  o.backend = "onednn";
  Plan full = compile(g, {y}, o);
  o.precision = Precision::bf16;
  Plan mixed = compile(g, {y}, o);
  const Feeds feeds = feeds_of({{"x", Shape{2, 3, 9, 9}}, {"w", Shape{8, 3, 3, 3}}}, false);
  const Tensor want = full.run(feeds)[0].clone();
  const Tensor& got = mixed.run(feeds)[0];
  for (std::int64_t i = 0; i < want.numel(); ++i) ASSERT_EQ(got.get(i), want.get(i)) << i;
}

}  // namespace
}  // namespace symgrad
