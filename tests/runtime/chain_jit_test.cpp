// The chain compiler (machine code for fused elementwise chains) against the chain interpreter and
// the reference backend: every op it compiles gives the same bits on values that include NaN,
// infinities, signed zeros and subnormals; chains it does not take run interpreted and say why.
// The suite runs this file once per instruction set the CPU has (ONEDNN_MAX_CPU_ISA=AVX2 lowers
// an AVX-512 CPU's compiler to AVX2); each process checks the code of its own.

#include <bit>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <limits>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

constexpr std::int64_t kN = 16 * 70 + 5;  // whole vectors for the code and a rest for the interpreter

// Deterministic values with the awkward ones sprinkled in.
Tensor awkward(int seed) {
  const float specials[] = {0.f, -0.f, 1.f, -1.f, std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::denorm_min(), 1e-30f, -3.5f};
  Tensor t(DType::f32, Shape{kN});
  for (std::int64_t i = 0; i < kN; ++i) {
    const bool special = i % 5 == 0;  // each special value in turn, every fifth element
    t.set(i, special ? specials[(i / 5 + seed) % 10] : std::sin(0.37 * static_cast<double>(i) + seed) * 3.0);
  }
  return t;
}

struct Outcome {
  std::vector<Tensor> values;
  std::string plan;
};

Outcome run(Graph& g, const std::vector<Value>& outs, const Feeds& feeds, const std::string& backend, bool compiled) {
  CompileOptions o;
  o.backend = backend;
  o.compile_chains = compiled;
  Plan p = compile(g, outs, o);
  Outcome r;
  for (const auto& t : p.run(feeds)) r.values.push_back(t.clone());
  r.plan = p.to_string();
  return r;
}

// The instruction set the chain compiler should use in this process, derived here from the CPU's
// flags and ONEDNN_MAX_CPU_ISA as documented: "avx512", "avx2", or "" (none: chains interpreted).
std::string expected_isa() {
  std::string cpu = __builtin_cpu_supports("avx512f") ? "avx512" : __builtin_cpu_supports("avx2") ? "avx2" : "";
  const char* env = std::getenv("ONEDNN_MAX_CPU_ISA");
  const std::string cap = env != nullptr ? env : "";
  if (cap == "SSE41" || cap == "AVX") return "";
  if ((cap == "AVX2" || cap == "AVX2_VNNI" || cap == "AVX_VNNI") && !cpu.empty()) return "avx2";
  return cpu;
}

bool cpu_has_the_compiler() { return !expected_isa().empty(); }

// The plan runs its chains as machine code of the expected instruction set.
void expect_compiled(const std::string& plan) {
  if (cpu_has_the_compiler()) {
    EXPECT_NE(plan.find("[fused, " + expected_isa() + "]"), std::string::npos) << plan;
  } else {
    EXPECT_NE(plan.find("below AVX2"), std::string::npos) << plan;
  }
}

void expect_same_bits(const Outcome& got, const Outcome& want, const std::string& what) {
  ASSERT_EQ(got.values.size(), want.values.size());
  for (std::size_t k = 0; k < want.values.size(); ++k) {
    const float* a = got.values[k].data<float>();
    const float* b = want.values[k].data<float>();
    int bad = 0;
    for (std::int64_t i = 0; i < kN; ++i) {
      const bool same = std::bit_cast<std::uint32_t>(a[i]) == std::bit_cast<std::uint32_t>(b[i]) ||
                        (std::isnan(a[i]) && std::isnan(b[i]));
      if (!same && bad++ < 3) ADD_FAILURE() << what << ", output " << k << "[" << i << "]: " << a[i] << " vs " << b[i];
    }
  }
}

struct OpUse {
  std::string op;
  int arity;
  Attrs attrs;
};

class CompiledOps : public ::testing::TestWithParam<OpUse> {};

// The op inside a chain (an input scaled before it and a sum after it, so scalars, full inputs
// and intermediate values all meet it), compiled, interpreted and on the reference backend.
TEST_P(CompiledOps, SameBitsAsTheInterpreterAndTheReference) {
  const OpUse& use = GetParam();
  Graph g;
  std::vector<Value> in;
  Feeds feeds;
  for (int k = 0; k < use.arity; ++k) {
    const std::string name = std::string(1, static_cast<char>('a' + k));
    in.push_back(g.input(name, {DType::f32, Shape{kN}}));
    feeds[name] = awkward(k + 1);
  }
  if (use.op == "dropout" || use.op == "where") {  // a 0/1 mask as the first (where) or second (dropout) input
    Tensor mask(DType::f32, Shape{kN});
    for (std::int64_t i = 0; i < kN; ++i) mask.set(i, (i * 3) % 7 < 4 ? 1.0 : 0.0);
    feeds[use.op == "dropout" ? "b" : "a"] = mask;
  }
  in[0] = in[0] * 1.5;
  const Value y = g.apply1(use.op, in, use.attrs);
  const std::vector<Value> outs{y + in.back(), y};
  const Outcome compiled = run(g, outs, feeds, "onednn", true);
  const Outcome interpreted = run(g, outs, feeds, "onednn", false);
  const Outcome reference = run(g, outs, feeds, "reference", false);
  expect_compiled(compiled.plan);
  EXPECT_NE(interpreted.plan.find("interpreted: machine code is off"), std::string::npos) << interpreted.plan;
  expect_same_bits(compiled, interpreted, "compiled vs interpreted");
  expect_same_bits(compiled, reference, "compiled vs reference");
}

INSTANTIATE_TEST_SUITE_P(
    Chains, CompiledOps,
    ::testing::Values(OpUse{"neg", 1, {}}, OpUse{"abs", 1, {}}, OpUse{"sqrt", 1, {}}, OpUse{"square", 1, {}},
                      OpUse{"relu", 1, {}}, OpUse{"sign", 1, {}}, OpUse{"leaky_relu", 1, Attrs{{"alpha", 0.1}}},
                      OpUse{"add", 2, {}}, OpUse{"sub", 2, {}}, OpUse{"mul", 2, {}}, OpUse{"div", 2, {}},
                      OpUse{"equal", 2, {}}, OpUse{"not_equal", 2, {}}, OpUse{"less", 2, {}},
                      OpUse{"less_equal", 2, {}}, OpUse{"greater", 2, {}}, OpUse{"greater_equal", 2, {}},
                      OpUse{"where", 3, {}}, OpUse{"dropout", 2, Attrs{{"p", 0.25}}},
                      OpUse{"relu_backward", 2, {}}, OpUse{"tanh_backward", 2, {}},
                      OpUse{"sigmoid_backward", 2, {}}),
    [](const ::testing::TestParamInfo<OpUse>& p) { return p.param.op; });

// exp, sigmoid and tanh compiled: within their stated error of the correctly rounded value (in
// units in the last place of it: exp and tanh 1, sigmoid 2; exp and sigmoid flush results below
// 2e-38 to 0), over 2^16 values across the range where the function changes and beyond, with the
// special values exact. (Measured the same over 2^22 values.)
struct Bound {
  std::string op;
  double ulps;
  double flush;  // |true value| below this may come out 0
  double (*truth)(double);
};

class CompiledTranscendental : public ::testing::TestWithParam<Bound> {};

TEST_P(CompiledTranscendental, WithinTheStatedUlps) {
  if (!cpu_has_the_compiler()) GTEST_SKIP() << "no chain compiler in this process (CPU or ONEDNN_MAX_CPU_ISA)";
  const Bound& bound = GetParam();
  constexpr std::int64_t n = 16 * 4096 + 5;
  Graph g;
  const Value x = g.input("x", {DType::f32, Shape{n}});
  // x * 2 (exact) first: the op inside a chain, so the chain kernel runs it
  const Value y = g.apply1(bound.op, {x * 2.0}, {});
  Tensor in(DType::f32, Shape{n});
  const float specials[] = {0.f, -0.f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                            std::numeric_limits<float>::quiet_NaN(), 1e-30f, -1e-30f, 44.5f, -44.5f, 60.f, -60.f};
  for (std::int64_t i = 0; i < n; ++i) {
    const auto k = static_cast<std::size_t>(i);
    // halves of the inputs: [-90, 90] evenly (past both ends of exp's float range), and specials
    in.set(i, i % 101 == 0 ? specials[k / 101 % std::size(specials)] / 2.0f
                           : -45.0 + 90.0 * static_cast<double>(i) / static_cast<double>(n));
  }
  const Outcome compiled = run(g, {y}, {{"x", in}}, "onednn", true);
  expect_compiled(compiled.plan);
  const float* got = compiled.values[0].data<float>();
  double worst = 0, at = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double arg = 2.0 * static_cast<double>(in.data<float>()[i]);
    const auto want = static_cast<float>(bound.truth(arg));
    if (std::isnan(want) || std::isinf(want) || want == 0.f || std::abs(arg) < 1e-20) {  // exact
      const bool same = std::bit_cast<std::uint32_t>(got[i]) == std::bit_cast<std::uint32_t>(want) ||
                        (std::isnan(got[i]) && std::isnan(want));
      EXPECT_TRUE(same) << bound.op << "(" << arg << ") = " << got[i] << ", want " << want;
      continue;
    }
    if (std::abs(want) < bound.flush && got[i] == 0.f) continue;
    const double ulp = std::nextafter(std::abs(want), std::numeric_limits<float>::infinity()) - std::abs(want);
    const double err = std::abs(static_cast<double>(got[i]) - static_cast<double>(want)) / ulp;
    if (err > worst) worst = err, at = arg;
  }
  EXPECT_LE(worst, bound.ulps) << bound.op << ": " << worst << " ulps at x = " << at;
  std::cout << bound.op << ": at most " << worst << " ulps (at x = " << at << ")\n";
}

double sigmoid_truth(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double exp_truth(double x) { return std::exp(x); }
double tanh_truth(double x) { return std::tanh(x); }

INSTANTIATE_TEST_SUITE_P(Chains, CompiledTranscendental,
                         ::testing::Values(Bound{"exp", 1, 2e-38, exp_truth}, Bound{"sigmoid", 2, 2e-38, sigmoid_truth},
                                           Bound{"tanh", 1, 0, tanh_truth}),
                         [](const ::testing::TestParamInfo<Bound>& p) { return p.param.op; });

// An Adam-like update: scalars, products merged into their sums, sqrt and a division, three
// outputs written in place over the variables they read. Two steps, compiled and reference.
TEST(ChainCompiler, UpdatesInPlaceAsTheReference) {
  Graph g;
  const TensorType t{DType::f32, Shape{kN}};
  Value p = g.variable("p", t), m = g.variable("m", t), v = g.variable("v", t);
  Value grad = g.input("g", t), lr = g.input("lr", {DType::f32, Shape{}});
  Value m2 = m * 0.9 + grad * 0.1;
  Value v2 = v * 0.999 + square(grad) * 0.001;
  Value p2 = p - lr * m2 / (sqrt(v2) + 1e-8);
  auto steps = [&](const std::string& backend) {
    CompileOptions o;
    o.backend = backend;
    o.updates = {{"p", p2}, {"m", m2}, {"v", v2}};
    Plan plan = compile(g, {}, o);
    VariableStore store;
    store.set("p", awkward(3));
    store.set("m", Tensor(t));
    store.set("v", Tensor(t));
    Tensor gv(t);
    for (std::int64_t i = 0; i < kN; ++i) gv.set(i, std::cos(0.1 * static_cast<double>(i)));
    const Feeds feeds{{"g", gv}, {"lr", Tensor::from(DType::f32, Shape{}, {0.01})}};
    plan.run(feeds, &store);
    plan.run(feeds, &store);
    return Outcome{{store.get("p").clone(), store.get("m").clone(), store.get("v").clone()}, plan.to_string()};
  };
  const Outcome compiled = steps("onednn"), reference = steps("reference");
  EXPECT_NE(compiled.plan.find("in place 'p'"), std::string::npos) << compiled.plan;
  expect_compiled(compiled.plan);
  expect_same_bits(compiled, reference, "compiled vs reference");
}

// What the compiler does not take runs on the interpreter, and the plan says why.
TEST(ChainCompiler, OtherChainsAreInterpretedAndSaySo) {
  Graph g;
  auto x = g.input("x", {DType::f32, Shape{kN / 5, 5}});
  auto row = g.input("row", {DType::f32, Shape{5}});
  auto y = g.input("y", {DType::f64, Shape{kN}});
  std::vector<Value> outs{log(x) * 2.0 + x, x * row + 1.0, y * 2.0 + y};
  Feeds feeds{{"x", Tensor(DType::f32, Shape{kN / 5, 5})}, {"row", Tensor(DType::f32, Shape{5})},
              {"y", Tensor(DType::f64, Shape{kN})}};
  const Outcome r = run(g, outs, feeds, "onednn", true);
  if (!cpu_has_the_compiler()) GTEST_SKIP() << "no chain compiler in this process (CPU or ONEDNN_MAX_CPU_ISA)";
  EXPECT_NE(r.plan.find("interpreted: a transcendental op other than exp, sigmoid and tanh"), std::string::npos) << r.plan;
  EXPECT_NE(r.plan.find("interpreted: an input repeats a row"), std::string::npos) << r.plan;
  EXPECT_NE(r.plan.find("interpreted: f64"), std::string::npos) << r.plan;
}

// A chain with more live values than vector registers is refused by the compiler and interpreted,
// with the same values.
TEST(ChainCompiler, ChainsNeedingTooManyRegistersAreInterpreted) {
  Graph g;
  const Value x = g.input("x", {DType::f32, Shape{kN}});
  const Feeds feeds{{"x", awkward(1)}};
  // 40 values computed first and read last to first: all of them live at once
  std::vector<Value> vs;
  for (int k = 0; k < 40; ++k) vs.push_back(sqrt(x + static_cast<double>(k)));
  Value acc = vs.back();
  for (int k = 38; k >= 0; --k) acc = acc * 0.5 + vs[static_cast<std::size_t>(k)];
  const Outcome compiled = run(g, {acc}, feeds, "onednn", true);
  const Outcome reference = run(g, {acc}, feeds, "reference", false);
  if (cpu_has_the_compiler()) {
    EXPECT_NE(compiled.plan.find("interpreted: the chain needs more than"), std::string::npos) << compiled.plan;
  }
  expect_same_bits(compiled, reference, "interpreted vs reference");
}

}  // namespace
}  // namespace symgrad
