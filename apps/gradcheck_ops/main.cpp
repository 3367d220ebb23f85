// symgrad-gradcheck-ops: gradient-checks (first and second derivatives) every registered op on
// its samples, in double precision on the reference backend, and prints a table.
// Exit status: 0 all pass, 1 a check failed, 2 usage error.

#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "symgrad/symgrad.hpp"

int main(int argc, char** argv) {
  std::string only;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      fmt::print("usage: symgrad-gradcheck-ops [--op NAME]\n"
                 "Gradient-checks every registered op (or one) on its samples: central differences "
                 "in f64,\nfirst derivatives (grad) and second derivatives (gradgrad).\n");
      return 0;
    }
    if (arg == "--op" && i + 1 < argc) {
      only = argv[++i];
    } else {
      fmt::print(stderr, "symgrad-gradcheck-ops: unknown argument '{}' (try --help)\n", arg);
      return 2;
    }
  }
  auto& registry = symgrad::OpRegistry::global();
  if (!only.empty()) {
    try {
      registry.get(only);
    } catch (const symgrad::Error& e) {
      fmt::print(stderr, "symgrad-gradcheck-ops: {}\n", e.what());
      return 2;
    }
  }
  int checks = 0, failures = 0;
  fmt::print("{:24} {:14} {:8} {:6} {:>10} {:>10}  {}\n", "op", "sample", "check", "input",
             "max abs", "max rel", "result");
  for (const symgrad::OpDef* op : registry.all()) {
    if (!only.empty() && op->name != only) continue;
    for (const auto& sample : op->samples()) {
      for (int order = 1; order <= (sample.second_order ? 2 : 1); ++order) {
        symgrad::GradcheckResult r;
        std::string error;
        try {
          r = order == 1 ? symgrad::gradcheck_op(*op, sample) : symgrad::gradgradcheck_op(*op, sample);
        } catch (const std::exception& e) {
          error = e.what();
          r.passed = false;
        }
        const char* check = order == 1 ? "grad" : "gradgrad";
        if (!error.empty()) {
          fmt::print("{:24} {:14} {:8} {:6} {:>10} {:>10}  FAIL: {}\n", op->name, sample.label, check,
                     "-", "-", "-", error);
        }
        for (const auto& in : r.inputs) {
          fmt::print("{:24} {:14} {:8} {:6} {:10.2e} {:10.2e}  {}\n", op->name, sample.label, check,
                     in.name, in.max_abs_error, in.max_rel_error, in.passed ? "ok" : "FAIL");
        }
        ++checks;
        failures += r.passed ? 0 : 1;
      }
    }
  }
  fmt::print("\n{} checks, {} passed, {} failed\n", checks, checks - failures, failures);
  return failures ? 1 : 0;
}
