// symgrad gradcheck [--plugin PATH|NAME]... [--op NAME] [--backend reference|onednn]: gradient-
// and second-derivative-checks ops on their samples by central differences and prints a table;
// exit status 1 if any check fails. Every built-in op by default; with --plugin, the plugin's ops.

#include <iostream>
#include <set>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "../command.hpp"
#include "symgrad/autodiff/gradcheck.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/graph/op_registry.hpp"
#include "symgrad/plugin/registry.hpp"

namespace symgrad::cli {

namespace po = boost::program_options;

int gradcheck_command(const std::vector<std::string>& args) {
  po::options_description opts(
      "usage: symgrad gradcheck [--plugin PATH|NAME]... [--op NAME] [--backend reference|onednn]\n"
      "Checks each op's gradient (first derivatives) and the gradient of its gradient (second\n"
      "derivatives) against central differences on the op's samples: in double precision on the\n"
      "reference backend (default), or in float32 through oneDNN with Caffe-style tolerances.\n"
      "Prints op, sample, check, input, max abs error, max rel error, result. Options");
  std::vector<std::string> plugins;
  std::string only, backend = "reference";
  opts.add_options()("help,h", "this help")("plugin", po::value(&plugins),
                                            "load this plugin (a path, or a name on the search path) and check its "
                                            "ops; repeatable")(
      "op", po::value(&only), "check only this op")("backend", po::value(&backend)->default_value("reference"),
                                                     "reference (f64) or onednn (f32)");
  po::variables_map vm;
  if (parse_arguments(args, opts, vm)) return kOk;
  if (backend != "reference" && backend != "onednn") {
    throw UsageError(fmt::format("unknown backend '{}' (reference or onednn)", backend));
  }
  auto& ops = OpRegistry::global();
  std::set<std::string> selected;  // empty: every op
  for (const auto& p : plugins) {
    const PluginInfo& info = PluginRegistry::global().load(p);
    std::size_t n = 0;
    for (const auto& [kind, name] : info.components) {
      if (kind == ComponentKind::op) selected.insert(name), ++n;
    }
    if (n == 0) fmt::print(stderr, "note: plugin '{}' ({}) has no ops\n", info.name, info.file);
  }
  if (!only.empty()) {
    // not built in, nor in a given plugin: the plugin of that name, or any plugin on the search path
    if (ops.find(only) == nullptr) {
      try {
        PluginRegistry::global().get(ComponentKind::op, only);
      } catch (const UsageError&) {  // on no plugin either: the op registry's error names the nearest op
      }
    }
    ops.get(only);  // a UsageError with a suggestion if still unknown
    if (!selected.empty() && !selected.count(only)) {
      throw UsageError(fmt::format("op '{}' is not one of the given plugins' ops", only));
    }
    selected = {only};
  } else if (!plugins.empty() && selected.empty()) {
    return kOk;  // nothing to check
  } else if (plugins.empty()) {  // every op: the built-in ones and those of every plugin on the search path
    if (const std::string failed = PluginRegistry::global().load_all(); !failed.empty()) {
      fmt::print(stderr, "warning: plugins that failed to load (their ops are not checked):{}\n", failed);
    }
  }
  const GradcheckOptions options = backend == "onednn" ? GradcheckOptions::float32() : GradcheckOptions{};
  int checks = 0, failures = 0;
  fmt::print("{:24} {:14} {:8} {:6} {:>10} {:>10}  {}\n", "op", "sample", "check", "input", "max abs", "max rel",
             "result");
  for (const OpDef* op : ops.all()) {
    if (!selected.empty() && !selected.count(op->name)) continue;
    std::vector<Sample> samples;
    try {
      samples = op->samples();
    } catch (const std::exception& e) {
      fmt::print("{:24} {:14} {:8} {:6} {:>10} {:>10}  FAIL: {}\n", op->name, "-", "samples", "-", "-", "-", e.what());
      ++checks, ++failures;
      continue;
    }
    for (const auto& sample : samples) {
      if (!op->formula.empty()) {  // first the formula the onednn chains run, against the kernel
        FormulaCheck f;
        std::string error;
        try {
          f = check_formula_op(*op, sample, options);
        } catch (const std::exception& e) {
          error = e.what(), f.passed = false;
        }
        fmt::print("{:24} {:14} {:8} {:6} {:10.2e} {:>10}  {}\n", op->name, sample.label, "formula", "-", f.max_error, "-",
                   f.passed ? "ok" : "FAIL: " + (error.empty() ? f.describe(op->name, sample.label) : error));
        ++checks;
        failures += f.passed ? 0 : 1;
      }
      for (int order = 1; order <= (sample.second_order ? 2 : 1); ++order) {
        GradcheckResult r;
        std::string error;
        try {
          r = order == 1 ? gradcheck_op(*op, sample, options) : gradgradcheck_op(*op, sample, options);
        } catch (const std::exception& e) {
          error = e.what();
          r.passed = false;
        }
        const char* check = order == 1 ? "grad" : "gradgrad";
        if (!error.empty()) {
          fmt::print("{:24} {:14} {:8} {:6} {:>10} {:>10}  FAIL: {}\n", op->name, sample.label, check, "-", "-", "-",
                     error);
        }
        for (const auto& in : r.inputs) {
          fmt::print("{:24} {:14} {:8} {:6} {:10.2e} {:10.2e}  {}\n", op->name, sample.label, check, in.name,
                     in.max_abs_error, in.max_rel_error, in.passed ? "ok" : "FAIL");
        }
        ++checks;
        failures += r.passed ? 0 : 1;
      }
    }
  }
  fmt::print("\n{} checks, {} passed, {} failed\n", checks, checks - failures, failures);
  return failures ? kFailed : kOk;
}

}  // namespace symgrad::cli
