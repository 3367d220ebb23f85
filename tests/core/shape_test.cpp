#include <gtest/gtest.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/shape.hpp"

namespace symgrad {
namespace {

TEST(Shape, NumelAndRank) {
  Shape s{2, 3, 4};
  EXPECT_EQ(s.rank(), 3u);
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(Shape{}.numel(), 1);
  EXPECT_EQ(Shape({0, 5}).numel(), 0);
  EXPECT_EQ(s.dim(-1), 4);
  EXPECT_EQ(s.to_string(), "[2, 3, 4]");
}

TEST(Shape, OpenDimensions) {
  Shape s{Shape::kOpen, 3};
  EXPECT_FALSE(s.is_static());
  EXPECT_EQ(s.to_string(), "[?, 3]");
  EXPECT_THROW(s.numel(), ShapeError);
}

TEST(Shape, RejectsNegativeDimensions) { EXPECT_THROW(Shape({2, -3}), ShapeError); }

TEST(Shape, OverflowIsAnErrorNotAnAllocation) {
  Shape huge{std::int64_t{1} << 40, std::int64_t{1} << 40};
  EXPECT_THROW(huge.numel(), ShapeError);
}

TEST(Shape, NormalizeAxis) {
  EXPECT_EQ(normalize_axis(-1, 3), 2);
  EXPECT_EQ(normalize_axis(0, 3), 0);
  EXPECT_THROW(normalize_axis(3, 3), ShapeError);
  EXPECT_THROW(normalize_axis(-4, 3), ShapeError);
}

TEST(TensorType, ToString) {
  EXPECT_EQ((TensorType{DType::f32, Shape{Shape::kOpen, 10}}).to_string(), "f32[?, 10]");
  EXPECT_EQ(parse_dtype("i64"), DType::i64);
  EXPECT_THROW(parse_dtype("f16"), UsageError);
}

}  // namespace
}  // namespace symgrad
