// Hyperparameter schemas: defaults filled in, and every kind of bad setting refused with a message
// that names the component, the key and what is allowed.

#include <gtest/gtest.h>

#include "symgrad/core/error.hpp"
#include "symgrad/plugin/hyperparams.hpp"

namespace symgrad {
namespace {

Schema adam_like() {
  return Schema{real_param("lr", 1e-3, "learning rate").greater_than(0),
                real_param("beta1", 0.9, "first moment decay").at_least(0).less_than(1),
                int_param("warmup", 0, "warm-up steps").at_least(0),
                bool_param("amsgrad", false, "keep the maximum of v"),
                choice_param("mode", "coupled", {"coupled", "decoupled"}, "weight decay form")};
}

std::string error_of(const Settings& s) {
  try {
    Hyperparams h(adam_like(), s, "optimizer 'adam'");
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST(Hyperparams, DefaultsAndGivenValues) {
  Hyperparams h(adam_like(), {{"lr", 0.01}, {"warmup", std::int64_t{5}}}, "optimizer 'adam'");
  EXPECT_EQ(h.real("lr"), 0.01);
  EXPECT_EQ(h.real("beta1"), 0.9);
  EXPECT_EQ(h.integer("warmup"), 5);
  EXPECT_FALSE(h.boolean("amsgrad"));
  EXPECT_EQ(h.string("mode"), "coupled");
  EXPECT_EQ(h.to_string(), "lr=0.01, beta1=0.9, warmup=5, amsgrad=false, mode=coupled");
  // an integer where a real is declared is taken as the real
  EXPECT_EQ(Hyperparams(adam_like(), {{"lr", std::int64_t{1}}}, "x").real("lr"), 1.0);
}

TEST(Hyperparams, UnknownKeySuggestsTheNearest) {
  const std::string e = error_of({{"betta1", 0.5}});
  EXPECT_NE(e.find("optimizer 'adam': unknown hyperparameter 'betta1' (did you mean 'beta1'?)"), std::string::npos) << e;
  EXPECT_NE(e.find("lr, beta1, warmup, amsgrad, mode"), std::string::npos) << e;
}

TEST(Hyperparams, WrongTypeAndOutOfRange) {
  EXPECT_NE(error_of({{"amsgrad", 1.0}}).find("'amsgrad' must be a bool, got the float 1"), std::string::npos)
      << error_of({{"amsgrad", 1.0}});
  EXPECT_NE(error_of({{"warmup", 0.5}}).find("'warmup' must be a int"), std::string::npos);
  EXPECT_NE(error_of({{"lr", -0.1}}).find("'lr' = -0.1 is out of range: allowed > 0"), std::string::npos)
      << error_of({{"lr", -0.1}});
  EXPECT_NE(error_of({{"lr", 0.0}}).find("allowed > 0"), std::string::npos);
  EXPECT_NE(error_of({{"beta1", 1.0}}).find("allowed [0, 1)"), std::string::npos) << error_of({{"beta1", 1.0}});
  EXPECT_NE(error_of({{"mode", std::string("both")}}).find("allowed one of: coupled, decoupled"), std::string::npos);
  EXPECT_TRUE(error_of({{"beta1", 0.0}}).empty());
}

TEST(Hyperparams, CommandLineSettingsTakeTheDeclaredType) {
  const Schema s = adam_like();
  EXPECT_EQ(parse_setting("lr=1e-2", s).second, ParamValue{0.01});
  EXPECT_EQ(parse_setting("lr=1", s).second, ParamValue{1.0});
  EXPECT_EQ(parse_setting("warmup=3", s).second, ParamValue{std::int64_t{3}});
  EXPECT_EQ(parse_setting("amsgrad=true", s).second, ParamValue{true});
  EXPECT_EQ(parse_setting("mode=decoupled", s).second, ParamValue{std::string("decoupled")});
  EXPECT_THROW(parse_setting("warmup=three", s), UsageError);
  EXPECT_THROW(parse_setting("lr", s), UsageError);
  EXPECT_EQ(parse_setting("unknown=2", s).second, ParamValue{std::int64_t{2}});  // the check names it later
}

TEST(Hyperparams, SchemasAreChecked) {
  EXPECT_THROW(Schema({real_param("lr", -1, "bad default").greater_than(0)}).validate("x"), UsageError);
  EXPECT_THROW(Schema({real_param("a", 1, ""), real_param("a", 2, "")}).validate("x"), UsageError);
  EXPECT_THROW(Schema({choice_param("m", "c", {"a", "b"}, "")}).validate("x"), UsageError);
  EXPECT_NO_THROW(adam_like().validate("x"));
}

}  // namespace
}  // namespace symgrad
