// The synthetic 2-D sets: sizes, classes, their geometry without noise, and the same seed giving
// the same points.

#include <cmath>
#include <cstring>

#include <gtest/gtest.h>

#include "symgrad/core/error.hpp"
#include "symgrad/data/dataset.hpp"
#include "symgrad/data/synthetic.hpp"

namespace symgrad {
namespace {

double x(const Dataset& d, std::int64_t i, int k) { return d.features.data<float>()[2 * i + k]; }
int y(const Dataset& d, std::int64_t i) { return d.labels.data<std::int32_t>()[i]; }

TEST(Synthetic, MoonsLieOnTheirHalfCircles) {
  const Dataset d = make_moons(200, 0.0, 1);
  ASSERT_EQ(d.features.shape(), (Shape{200, 2}));
  for (std::int64_t i = 0; i < d.size(); ++i) {
    const double cx = y(d, i) == 0 ? 0.0 : 1.0, cy = y(d, i) == 0 ? 0.0 : 0.5;
    EXPECT_NEAR(std::hypot(x(d, i, 0) - cx, x(d, i, 1) - cy), 1.0, 1e-6) << i;
    EXPECT_TRUE(y(d, i) == 0 ? x(d, i, 1) >= -1e-6 : x(d, i, 1) <= 0.5 + 1e-6) << i;  // upper / lower half
  }
}

TEST(Synthetic, CirclesHaveTheirRadii) {
  const Dataset d = make_circles(100, 0.0, 0.4, 2);
  for (std::int64_t i = 0; i < d.size(); ++i) {
    EXPECT_NEAR(std::hypot(x(d, i, 0), x(d, i, 1)), y(d, i) == 0 ? 1.0 : 0.4, 1e-6);
  }
}

TEST(Synthetic, XorLabelsAreTheSignOfTheProduct) {
  const Dataset d = make_xor(300, 0.0, 3);
  for (std::int64_t i = 0; i < d.size(); ++i) EXPECT_EQ(y(d, i), x(d, i, 0) * x(d, i, 1) < 0 ? 1 : 0);
}

TEST(Synthetic, BlobsSpiralsAndBalance) {
  const Dataset b = make_blobs(300, 3, 0.1, 4);
  const Dataset s = make_spirals(300, 3, 0.0, 4);
  for (const Dataset* d : {&b, &s}) {
    EXPECT_EQ(d->num_classes, 3);
    std::vector<int> count(3, 0);
    for (std::int64_t i = 0; i < d->size(); ++i) ++count[static_cast<std::size_t>(y(*d, i))];
    EXPECT_EQ(count, (std::vector<int>{100, 100, 100})) << d->name;
  }
  for (std::int64_t i = 0; i < s.size(); ++i) EXPECT_LE(std::hypot(x(s, i, 0), x(s, i, 1)), 1.0 + 1e-6);
}

TEST(Synthetic, SameSeedSamePointsAndNoiseMoves) {
  const Dataset a = make_moons(50, 0.2, 7), b = make_moons(50, 0.2, 7), c = make_moons(50, 0.2, 8);
  EXPECT_EQ(std::memcmp(a.features.raw(), b.features.raw(), a.features.nbytes()), 0);
  EXPECT_NE(std::memcmp(a.features.raw(), c.features.raw(), a.features.nbytes()), 0);
  EXPECT_THROW(make_moons(0, 0.1, 1), UsageError);
  EXPECT_THROW(make_circles(10, 0.1, 1.5, 1), UsageError);
}

TEST(Dataset, ValidationSplitIsSeededAndDisjoint) {
  const Dataset d = make_blobs(100, 2, 0.5, 9);
  auto [train, val] = split_validation(d, 0.2, 5);
  EXPECT_EQ(train.size(), 80);
  EXPECT_EQ(val.size(), 20);
  auto [train2, val2] = split_validation(d, 0.2, 5);
  EXPECT_EQ(std::memcmp(val.features.raw(), val2.features.raw(), val.features.nbytes()), 0);
  // every row lands on exactly one side: the sums of the features agree
  double all = 0, parts = 0;
  for (std::int64_t i = 0; i < d.features.numel(); ++i) all += d.features.data<float>()[i];
  for (const Dataset* p : {&train, &val}) {
    for (std::int64_t i = 0; i < p->features.numel(); ++i) parts += p->features.data<float>()[i];
  }
  EXPECT_NEAR(all, parts, 1e-3);
  EXPECT_THROW(split_validation(d, 1.0, 1), UsageError);
}

}  // namespace
}  // namespace symgrad
