// symgrad gradcheck [--plugin PATH|NAME]... [--op NAME] [--backend reference|onednn]: gradient-
// and second-derivative-checks ops on their samples by central differences and prints a table;
// exit status 1 if any check fails. Every built-in op by default; with --plugin, the plugin's ops.

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <optional>
#include <random>
#include <set>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "../command.hpp"
#include "../minimize/expression.hpp"
#include "symgrad/autodiff/gradcheck.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/graph/op_registry.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/experiment.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad::cli {

namespace po = boost::program_options;

namespace {

// One row of the table; a failure shows its worst element's analytic and numeric values (or
// `kink`: why it is not a failure).
void print_row(const std::string& what, const std::string& sample, const char* check, const InputReport& in,
               const std::string& kink) {
  const std::string result =
      in.passed        ? "ok"
      : !kink.empty()  ? fmt::format("ok, {}", kink)
                       : fmt::format("FAIL: element {}: analytic {:.9g}, numeric {:.9g}", in.worst_index, in.analytic,
                                     in.numeric);
  fmt::print("{:24} {:14} {:8} {:6} {:10.2e} {:10.2e}  {}\n", what, sample, check, in.name, in.max_abs_error,
             in.max_rel_error, result);
}

// Whether `f` has a kink along coordinate k at x: its one-sided slopes differ (relu and |x| at 0),
// where central differences average the two sides and no derivative exists to check.
bool kink(const std::function<double(std::vector<double>)>& f, std::vector<double> x, std::size_t k, double h) {
  const double at = f(x);
  x[k] += h;
  const double right = (f(x) - at) / h;
  x[k] -= 2 * h;
  const double left = (at - f(x)) / h;
  return slopes_disagree(left, right);
}

// Whether `g` jumps along coordinate k at x (the derivative of relu or |x| at 0): its central
// slopes with steps h and 10 h differ (for a smooth g they agree to O(h^2); across a jump they
// scale as 1 / h).
bool jump(const std::function<double(std::vector<double>)>& g, const std::vector<double>& x, std::size_t k, double h) {
  auto slope = [&](double step) {
    std::vector<double> a = x, b = x;
    a[k] += step, b[k] -= step;
    return (g(a) - g(b)) / (2 * step);
  };
  const double s1 = slope(h), s2 = slope(10 * h);
  return slopes_disagree(s1, s2);
}

// symgrad gradcheck --expr: the expression's gradient and second derivatives at `at` (or at four
// points drawn from the seed in [-2, 2]^d), as an op's are checked; kinks are reported, not failed.
int check_expression(const std::string& text, const std::string& at) {
  const Expression e(text);
  const std::size_t d = std::max<std::size_t>(e.dimension(), 1);
  std::vector<std::vector<double>> points;
  if (!at.empty()) {
    points.push_back(parse_point(at, "--at"));
    if (points.back().size() != d) {
      throw UsageError(fmt::format("--at {}: the expression has {} variable{}: give {} number{}", at, d, d == 1 ? "" : "s",
                                   d, d == 1 ? "" : "s"));
    }
  } else {
    std::mt19937_64 rng(0x5eed);
    std::uniform_real_distribution<double> u(-2, 2);
    for (int i = 0; i < 4; ++i) {
      points.emplace_back();
      for (std::size_t k = 0; k < d; ++k) points.back().push_back(u(rng));
    }
  }
  const auto f = [&](const std::vector<double>& x) { return e.evaluate(x); };
  int checks = 0, failures = 0;
  fmt::print("{:24} {:14} {:8} {:6} {:>10} {:>10}  {}\n", "expression", "point", "check", "input", "max abs", "max rel",
             "result");
  for (const auto& p : points) {
    std::string label;
    for (const double v : p) label += fmt::format("{}{:.3g}", label.empty() ? "" : ",", v);
    Graph g;
    const Value x = g.input("x", TensorType{DType::f64, Shape{static_cast<std::int64_t>(d)}});
    const Value y = e.build(x);
    const Feeds feeds = {{"x", Tensor::from(DType::f64, Shape{static_cast<std::int64_t>(d)}, p)}};
    for (int order = 1; order <= 2; ++order) {
      const GradcheckResult r = order == 1 ? gradcheck({y}, {x}, feeds) : gradgradcheck({y}, {x}, feeds);
      for (const auto& in : r.inputs) {
        std::string why;
        if (!in.passed && in.worst_index >= 0) {
          const auto k = static_cast<std::size_t>(in.worst_index);
          const auto derivative = [&](std::vector<double> z) {  // df/dx_k by central differences
            z[k] += 1e-6;
            const double up = f(z);
            z[k] -= 2e-6;
            return (up - f(z)) / 2e-6;
          };
          if (order == 1 ? kink(f, p, k, 1e-7) : kink(f, p, k, 1e-7) || jump(derivative, p, k, 1e-4)) {
            why = fmt::format("a kink{} along x{} here (one-sided slopes differ): no derivative to check",
                              order == 1 ? "" : " of the derivative", k);
          }
        }
        print_row(text.size() > 24 ? fmt::format("{}...", text.substr(0, 21)) : text, label, order == 1 ? "grad" : "gradgrad", in, why);
        ++checks;
        failures += in.passed || !why.empty() ? 0 : 1;
      }
    }
  }
  fmt::print("\n{} checks, {} passed, {} failed\n", checks, checks - failures, failures);
  return failures ? kFailed : kOk;
}

// symgrad gradcheck EXPERIMENT.toml: the whole model's gradient (its loss and penalties) on the
// first `batch` training examples, in double precision on the reference backend, per parameter.
int check_experiment(const std::string& file, std::vector<std::string> sets, std::int64_t batch, std::int64_t elements) {
  sets.insert(sets.end(), {"backend=reference", "precision=f32", "output="});
  const Experiment x = load_experiment(file, sets);
  const ExperimentData data = load_experiment_data(x);
  const Dataset part = data.train.rows(0, std::min(batch, data.train.size()));
  Trainer trainer(x.model(data.train), x.trainer_options());
  const ExperimentComponents components = make_components(x);
  components.attach(trainer);
  trainer.prepare();  // the first values, as training starts from them
  fmt::print("{}: {} on {} training examples, in f64 on the reference backend; at most {} elements a parameter\n",
             x.name, x.model_spec.describe(), part.size(), elements);
  const std::vector<ParameterCheck> checks = trainer.check_gradients(part, GradcheckOptions{}, elements);
  fmt::print("{:24} {:>8} {:>10} {:>10}  {}\n", "parameter", "elements", "max abs", "max rel", "result");
  int failures = 0;
  for (const auto& c : checks) {
    const InputReport& r = c.report;
    std::string result = r.passed ? "ok" : fmt::format("FAIL: element {}: analytic {:.9g}, numeric {:.9g}", r.worst_index,
                                                       r.analytic, r.numeric);
    if (c.kinks > 0) result += fmt::format(" ({} at a kink: one-sided slopes differ, not compared)", c.kinks);
    fmt::print("{:24} {:>8} {:10.2e} {:10.2e}  {}\n", r.name, c.checked, r.max_abs_error, r.max_rel_error, result);
    failures += r.passed ? 0 : 1;
  }
  fmt::print("\n{} parameters, {} passed, {} failed\n", checks.size(), checks.size() - static_cast<std::size_t>(failures),
             failures);
  return failures ? kFailed : kOk;
}

// The ops to check: those of the given plugins, or `only`, or (empty) every op, built in and of
// every plugin on the search path (loaded now). nullopt: the plugins have no ops, nothing to check.
std::optional<std::set<std::string>> select_ops(const std::vector<std::string>& plugins, const std::string& only) {
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
    return std::nullopt;  // nothing to check
  } else if (plugins.empty()) {  // every op: the built-in ones and those of every plugin on the search path
    if (const std::string failed = PluginRegistry::global().load_all(); !failed.empty()) {
      fmt::print(stderr, "warning: plugins that failed to load (their ops are not checked):{}\n", failed);
    }
  }
  return selected;
}

// Checks the `selected` ops (empty: every op) on their samples: the formula against the kernel,
// then first and second derivatives; prints the table and the count.
int check_ops(const std::set<std::string>& selected, const GradcheckOptions& options) {
  auto& ops = OpRegistry::global();
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
        for (const auto& in : r.inputs) print_row(op->name, sample.label, check, in, "");
        ++checks;
        failures += r.passed ? 0 : 1;
      }
    }
  }
  fmt::print("\n{} checks, {} passed, {} failed\n", checks, checks - failures, failures);
  return failures ? kFailed : kOk;
}

}  // namespace

int gradcheck_command(const std::vector<std::string>& args) {
  po::options_description opts(
      "usage: symgrad gradcheck [--plugin PATH|NAME]... [--op NAME] [--backend reference|onednn]\n"
      "       symgrad gradcheck --expr \"x * sigmoid(x)\" [--at x0,x1,...]\n"
      "       symgrad gradcheck EXPERIMENT.toml [--set key=value ...] [--batch N] [--elements K]\n"
      "Checks each op's gradient (first derivatives) and the gradient of its gradient (second\n"
      "derivatives) against central differences on the op's samples: in double precision on the\n"
      "reference backend (default), or in float32 through oneDNN with Caffe-style tolerances.\n"
      "Prints op, sample, check, input, max abs error, max rel error, result; a failure shows its worst\n"
      "element's analytic and numeric derivatives. --expr checks a function typed in (the language of\n"
      "symgrad minimize --expr: x, y or x0..xn, + - * / ^, exp, log, tanh, sigmoid, relu, softplus, ...)\n"
      "in double precision at --at or at four points drawn in [-2, 2]; a kink there (relu at 0) is\n"
      "reported, not failed. EXPERIMENT.toml checks the whole model's gradient (its loss and every\n"
      "penalty) with respect to each parameter, at its first values, on the first N training examples,\n"
      "in double precision on the reference backend (dropout masks and noise held fixed). Options");
  std::vector<std::string> plugins;
  std::string only, backend = "reference", expr, at, experiment;
  std::vector<std::string> sets;
  std::int64_t batch = 8, elements = 10;
  opts.add_options()("help,h", "this help")("plugin", po::value(&plugins),
                                            "load this plugin (a path, or a name on the search path) and check its "
                                            "ops; repeatable")(
      "op", po::value(&only), "check only this op")("backend", po::value(&backend)->default_value("reference"),
                                                     "reference (f64) or onednn (f32)")(
      "expr", po::value(&expr), "check this expression's derivatives")("at", po::value(&at),
                                                                       "with --expr: the point, x0,x1,...")(
      "set", po::value(&sets), "with an experiment: override a key (repeatable)")(
      "batch", po::value(&batch)->default_value(8), "with an experiment: the training examples of the batch")(
      "elements", po::value(&elements)->default_value(10), "with an experiment: elements checked per parameter (0: all)");
  po::options_description hidden;
  hidden.add_options()("experiment", po::value(&experiment));
  po::positional_options_description pos;
  pos.add("experiment", 1);
  po::variables_map vm;
  if (parse_arguments(args, opts, vm, &hidden, &pos)) return kOk;
  if (!experiment.empty()) {
    if (!expr.empty() || !plugins.empty() || !only.empty() || !vm["backend"].defaulted()) {
      throw UsageError("an experiment is checked in double precision on its own: without --expr, --plugin, --op or --backend");
    }
    if (batch < 1 || elements < 0) throw UsageError("--batch is at least 1, --elements at least 0 (0: all)");
    return check_experiment(experiment, sets, batch, elements);
  }
  if (!sets.empty()) throw UsageError("--set overrides a key of an experiment (symgrad gradcheck EXPERIMENT.toml)");
  if (!expr.empty()) {
    if (!plugins.empty() || !only.empty() || vm["backend"].defaulted() == false) {
      throw UsageError("--expr checks an expression in double precision: without --plugin, --op or --backend");
    }
    try {
      return check_expression(expr, at);
    } catch (const ExpressionError& e) {
      throw UsageError(fmt::format("--expr: {}", e.what()));
    }
  }
  if (!at.empty()) throw UsageError("--at is the point of an --expr check");
  if (backend != "reference" && backend != "onednn") {
    throw UsageError(fmt::format("unknown backend '{}' (reference or onednn)", backend));
  }
  const auto selected = select_ops(plugins, only);
  if (!selected) return kOk;
  return check_ops(*selected, backend == "onednn" ? GradcheckOptions::float32() : GradcheckOptions{});
}

}  // namespace symgrad::cli
