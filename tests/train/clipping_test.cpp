// Gradient clipping: by global norm (over all gradients together) and by value.

#include <gtest/gtest.h>

#include "symgrad/symgrad.hpp"
#include "symgrad/train/clipping.hpp"

namespace symgrad {
namespace {

std::vector<std::vector<double>> run(const std::vector<Value>& outs, const Feeds& feeds) {
  Plan p = compile(*outs[0].graph, outs);
  std::vector<std::vector<double>> r;
  for (const auto& t : p.run(feeds)) r.push_back(t.to_vector());
  return r;
}

TEST(Clipping, GlobalNormScalesEveryGradientByTheSameFactor) {
  Graph g;
  auto a = g.input("a", {DType::f64, Shape{1}});
  auto b = g.input("b", {DType::f64, Shape{1}});
  const Feeds feeds = {{"a", Tensor::from(DType::f64, Shape{1}, {3})}, {"b", Tensor::from(DType::f64, Shape{1}, {4})}};
  // ||(3, 4)|| = 5 > 1: scaled by 1 / (5 + 1e-6)
  const auto r = run(clip_by_global_norm({a, b}, 1.0), feeds);
  EXPECT_DOUBLE_EQ(r[0][0], 3 / (5 + 1e-6));
  EXPECT_DOUBLE_EQ(r[1][0], 4 / (5 + 1e-6));
  // under the limit: unchanged
  const auto same = run(clip_by_global_norm({a, b}, 10.0), feeds);
  EXPECT_EQ(same[0][0], 3);
  EXPECT_EQ(same[1][0], 4);
  EXPECT_THROW(clip_by_global_norm({a}, 0.0), UsageError);
}

TEST(Clipping, ByValueClampsEachElement) {
  Graph g;
  auto a = g.input("a", {DType::f64, Shape{4}});
  const auto r = run(clip_by_value({a}, 1.0), {{"a", Tensor::from(DType::f64, Shape{4}, {-2, 0.5, 3, -1})}});
  EXPECT_EQ(r[0], (std::vector<double>{-1, 0.5, 1, -1}));
}

}  // namespace
}  // namespace symgrad
