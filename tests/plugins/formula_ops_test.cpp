// A plugin op declared by a formula (OpDef::formula) fuses into the onednn backend's compiled
// elementwise chains like a built-in: one kernel, the same bits as the ops run one by one, and the
// reference backend's value; a formula the chain compiler cannot run refuses the plugin at load.

#include <algorithm>
#include <cstring>

#include <gtest/gtest.h>

#include "symgrad/core/random.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

std::string fixture(const std::string& name) { return std::string(SYMGRAD_TEST_FIXTURES) + "/symgrad-" + name + ".so"; }

Tensor random_input(const Shape& shape) {
  Tensor t(DType::f32, shape);
  Random rng(3);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(4 * rng.uniform() - 2);
  return t;
}

TEST(FormulaOps, APluginOpFusesWithTheSameBitsAsUnfused) {
  PluginRegistry::global().load(fixture("fused_op"));
  // small (each op alone runs on the chain kernel too: the same instructions, the same bits) and
  // large (alone, exp runs on oneDNN's primitive: compared with the reference)
  for (const Shape& shape : {Shape{8, 16}, Shape{256, 1024}}) {
    SCOPED_TRACE(shape.to_string());
    Graph g;
    Value x = g.input("x", {DType::f32, shape});
    Value y = exp(g.apply1("swish", {x})) * 0.5 + 1.0;
    CompileOptions on;
    on.backend = "onednn";
    CompileOptions off = on;
    off.fusion = CompileOptions::Fusion::off;
    Plan fused = compile(g, {y}, on), unfused = compile(g, {y}, off), reference = compile(g, {y});
    const Feeds feeds = {{"x", random_input(shape)}};
    const Tensor a = fused.run(feeds)[0].clone(), b = unfused.run(feeds)[0].clone();
    EXPECT_EQ(fused.num_steps(), 1u) << fused.to_string();
    EXPECT_EQ(unfused.num_steps(), 4u) << unfused.to_string();
    if (shape.numel() <= 128) {
      EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
    }
    const Tensor r = reference.run(feeds)[0];
    double worst = 0;
    for (std::int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, std::abs(a.get(i) - r.get(i)) / std::abs(r.get(i)));
    EXPECT_LT(worst, 1e-5);
  }
}

// A plugin op marked view_when_same_size shares its input's buffer on the onednn backend (nothing
// runs), and computes the same values as on the reference backend.
TEST(FormulaOps, APluginViewOpRunsNothing) {
  PluginRegistry::global().load(fixture("fused_op"));
  Graph g;
  Value x = g.input("x", {DType::f32, Shape{4, 4}});
  Value y = g.apply1("as_vector", {matmul(x, x)});
  CompileOptions o;
  o.backend = "onednn";
  Plan plan = compile(g, {sum(y)}, o);
  const Feeds feeds = {{"x", random_input(Shape{4, 4})}};
  const double value = plan.run(feeds)[0].get(0);
  const auto backends = plan.step_backends();
  EXPECT_NE(std::find(backends.begin(), backends.end(), "view"), backends.end()) << plan.to_string();
  EXPECT_NEAR(value, compile(g, {sum(y)}).run(feeds)[0].get(0), 1e-4);
}

TEST(FormulaOps, AFormulaTheChainCannotRunRefusesThePlugin) {
  try {
    PluginRegistry::global().load(fixture("bad_formula"));
    FAIL() << "loaded";
  } catch (const PluginError& e) {
    EXPECT_NE(std::string(e.what()).find("op 'cube': formula step 1 uses 'cubed', which is not an elementwise op"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(OpRegistry::global().find("cube"), nullptr);
}

}  // namespace
}  // namespace symgrad
