// Walks the op registry: every op must have samples, a reference kernel, and gradients (first
// and second order) that agree with central differences on every sample. A new op without
// samples, or with a wrong pullback, fails here.

#include <gtest/gtest.h>

#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

struct Case {
  const OpDef* op;
  Sample sample;
  std::string name;
};

// Test names and failure messages show the case's name, not its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

// Every (op, sample) pair; with second_order_only, those whose second derivatives are checked.
std::vector<Case> all_cases(bool second_order_only) {
  std::vector<Case> out;
  for (const OpDef* op : OpRegistry::global().all()) {
    if (!op->samples) continue;
    for (auto& s : op->samples()) {
      if (!second_order_only || s.second_order) out.push_back({op, s, op->name + "_" + s.label});
    }
  }
  return out;
}

TEST(OpRegistry, EveryOpHasSamplesKernelAndPullback) {
  const auto ops = OpRegistry::global().all();
  EXPECT_GE(ops.size(), 50u);
  for (const OpDef* op : ops) {
    SCOPED_TRACE(op->name);
    ASSERT_TRUE(op->samples) << op->name << " has no samples";
    EXPECT_FALSE(op->samples().empty()) << op->name << " has no samples";
    EXPECT_TRUE(op->kernels.count("reference")) << op->name << " has no reference kernel";
    EXPECT_TRUE(op->pullback) << op->name << " declares no pullback";
    EXPECT_FALSE(op->doc.empty());
  }
}

TEST(OpRegistry, CoversTheCoreOps) {
  for (const char* name :
       {"add", "sub", "mul", "div", "neg", "matmul", "transpose", "reshape", "broadcast_to", "sum",
        "mean", "max", "exp", "log", "sqrt", "square", "abs", "sign", "pow", "relu", "leaky_relu",
        "sigmoid", "tanh", "softplus", "where", "equal", "less", "greater", "softmax",
        "log_softmax", "softmax_cross_entropy", "mse", "dropout", "concat", "slice", "conv2d",
        "max_pool2d", "avg_pool2d", "batch_norm", "batch_norm_inference"}) {
    EXPECT_NE(OpRegistry::global().find(name), nullptr) << name;
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& param_info) {
  return param_info.param.name;
}

class OpGradcheck : public ::testing::TestWithParam<Case> {};
class OpGradgradcheck : public ::testing::TestWithParam<Case> {};

TEST_P(OpGradcheck, FirstDerivatives) {
  const Case& c = GetParam();
  auto r = gradcheck_op(*c.op, c.sample);
  EXPECT_TRUE(r.passed) << c.name << "\n" << r.to_string();
}

TEST_P(OpGradgradcheck, SecondDerivatives) {
  const Case& c = GetParam();
  auto r = gradgradcheck_op(*c.op, c.sample);
  EXPECT_TRUE(r.passed) << c.name << "\n" << r.to_string();
}

INSTANTIATE_TEST_SUITE_P(Registry, OpGradcheck, ::testing::ValuesIn(all_cases(false)), case_name);
INSTANTIATE_TEST_SUITE_P(Registry, OpGradgradcheck, ::testing::ValuesIn(all_cases(true)), case_name);

}  // namespace
}  // namespace symgrad
