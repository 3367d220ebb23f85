// symgrad-gradcheck-ops: gradient-checks (first and second derivatives) every registered op on
// its samples and prints a table: in double precision on the reference backend (default), or in
// float32 on oneDNN (--backend onednn, Caffe-style tolerances).
// Exit status: 0 all pass, 1 a check failed, 2 usage error.

#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "symgrad/symgrad.hpp"

int main(int argc, char** argv) {
  std::string only;
  std::string backend = "reference";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      fmt::print("usage: symgrad-gradcheck-ops [--op NAME] [--backend reference|onednn]\n"
                 "Gradient-checks every registered op (or one) on its samples by central "
                 "differences:\nfirst derivatives (grad) and second derivatives (gradgrad); f64 on "
                 "the reference backend,\nf32 on onednn.\n");
      return 0;
    }
    if (arg == "--op" && i + 1 < argc) {
      only = argv[++i];
    } else if (arg == "--backend" && i + 1 < argc) {
      backend = argv[++i];
      if (backend != "reference" && backend != "onednn") {
        fmt::print(stderr, "symgrad-gradcheck-ops: unknown backend '{}' (reference or onednn)\n", backend);
        return 2;
      }
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
  const symgrad::GradcheckOptions options =
      backend == "onednn" ? symgrad::GradcheckOptions::float32() : symgrad::GradcheckOptions{};
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
          r = order == 1 ? symgrad::gradcheck_op(*op, sample, options)
                         : symgrad::gradgradcheck_op(*op, sample, options);
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
