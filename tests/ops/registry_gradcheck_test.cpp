// Walks the op registry: every op must have samples, a reference kernel, and gradients (first
// and second order) that agree with central differences on every sample. A new op without
// samples, or with a wrong pullback, fails here.

#include <gtest/gtest.h>

#include "support/op_cases.hpp"
#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

using Case = testing::OpCase;
using testing::op_case_name;
std::vector<Case> all_cases(bool second_order_only) { return testing::op_cases(second_order_only); }

TEST(OpRegistry, EveryOpHasSamplesKernelAndPullback) {
  const auto ops = OpRegistry::global().all();
  EXPECT_GE(ops.size(), 50u);
  for (const OpDef* op : ops) {
    SCOPED_TRACE(op->name);
    ASSERT_TRUE(op->samples) << op->name << " has no samples";
    EXPECT_FALSE(op->samples().empty()) << op->name << " has no samples";
    EXPECT_NE(KernelRegistry::global().kernel(op->name, "reference"), nullptr) << op->name << " has no reference kernel";
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

INSTANTIATE_TEST_SUITE_P(Registry, OpGradcheck, ::testing::ValuesIn(all_cases(false)), op_case_name);
INSTANTIATE_TEST_SUITE_P(Registry, OpGradgradcheck, ::testing::ValuesIn(all_cases(true)), op_case_name);

}  // namespace
}  // namespace symgrad
