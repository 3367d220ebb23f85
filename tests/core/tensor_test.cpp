#include <cstdint>

#include <gtest/gtest.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/tensor.hpp"

namespace symgrad {
namespace {

TEST(Tensor, AlignedZeroedContiguous) {
  for (DType t : {DType::f32, DType::f64, DType::i32, DType::i64}) {
    Tensor x(t, Shape{3, 5});
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(x.raw()) % 64, 0u);
    EXPECT_EQ(x.numel(), 15);
    EXPECT_EQ(x.nbytes(), 15 * dtype_size(t));
    for (double v : x.to_vector()) EXPECT_EQ(v, 0.0);
  }
}

TEST(Tensor, FromAndTypedAccess) {
  Tensor x = Tensor::from(DType::f32, Shape{2, 2}, {1, 2, 3, 4});
  EXPECT_FLOAT_EQ(x.data<float>()[3], 4.0f);
  EXPECT_THROW(x.data<double>(), ShapeError);
  EXPECT_THROW(Tensor::from(DType::f32, Shape{2}, {1, 2, 3}), ShapeError);
}

TEST(Tensor, CopiesShareCloneDoesNot) {
  Tensor a = Tensor::from(DType::f64, Shape{2}, {1, 2});
  Tensor b = a;
  Tensor c = a.clone();
  a.set(0, 9);
  EXPECT_EQ(b.get(0), 9);
  EXPECT_EQ(c.get(0), 1);
}

TEST(Tensor, RefusesOpenAndOverflowingShapes) {
  EXPECT_THROW(Tensor(DType::f32, Shape{Shape::kOpen, 2}), ShapeError);
  EXPECT_THROW(Tensor(DType::f64, Shape{std::int64_t{1} << 62, 4}), ShapeError);
  EXPECT_THROW(Tensor(DType::f64, Shape{std::int64_t{1} << 40}), ShapeError);  // over the limit
}

TEST(Tensor, ReshapedAndConverted) {
  Tensor a = Tensor::from(DType::f64, Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor r = a.reshaped(Shape{3, 2});
  EXPECT_EQ(r.shape(), (Shape{3, 2}));
  EXPECT_EQ(r.raw(), a.raw());
  EXPECT_THROW(a.reshaped(Shape{4}), ShapeError);
  Tensor i = a.to(DType::i32);
  EXPECT_EQ(i.data<std::int32_t>()[5], 6);
}

}  // namespace
}  // namespace symgrad
