#include <gtest/gtest.h>

#include "symgrad/core/error.hpp"
#include "symgrad/graph/attrs.hpp"

namespace symgrad {
namespace {

TEST(Attrs, SortedEqualityAndHash) {
  Attrs a{{"b", std::int64_t{1}}, {"a", 2.5}};
  Attrs b{{"a", 2.5}, {"b", std::int64_t{1}}};
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.hash(), b.hash());
  Attrs c{{"a", 2.5}, {"b", std::int64_t{2}}};
  EXPECT_NE(a, c);
  EXPECT_EQ(a.to_string(), "a=2.5, b=1");
}

TEST(Attrs, TypedGettersNameTheAttribute) {
  Attrs a{{"axes", std::vector<std::int64_t>{0, 1}}, {"name", std::string("x")}};
  EXPECT_EQ(a.get_ints("axes").size(), 2u);
  EXPECT_EQ(a.get_string("name"), "x");
  EXPECT_EQ(a.get_int("missing", 7), 7);
  try {
    a.get_int("axes");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("axes"), std::string::npos);
  }
  EXPECT_THROW(a.get_float("nothing"), UsageError);
}

}  // namespace
}  // namespace symgrad
