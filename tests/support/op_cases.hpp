#pragma once
// The (op, sample) pairs of the op registry, for suites parameterized over every op.

#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "symgrad/graph/op_registry.hpp"

namespace symgrad::testing {

/// One sample of one op; `name` ("op_sample") names the test.
struct OpCase {
  const OpDef* op;
  Sample sample;
  std::string name;
};

/// Test names and failure messages show the case's name, not its bytes.
inline void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

/// For INSTANTIATE_TEST_SUITE_P: the case's name as the test's.
inline std::string op_case_name(const ::testing::TestParamInfo<OpCase>& info) { return info.param.name; }

/// Every registered op's samples (ops named test_* belong to tests and are left out); with
/// second_order_only, the samples whose second derivatives are checked.
inline std::vector<OpCase> op_cases(bool second_order_only = false) {
  std::vector<OpCase> out;
  for (const OpDef* op : OpRegistry::global().all()) {
    if (!op->samples || op->name.rfind("test_", 0) == 0) continue;
    for (auto& s : op->samples()) {
      if (!second_order_only || s.second_order) out.push_back({op, s, op->name + "_" + s.label});
    }
  }
  return out;
}

}  // namespace symgrad::testing
