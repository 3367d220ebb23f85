// symgrad minimize: runs optimizers on a function given as a graph (a built-in test function or
// an expression) to show how they behave, writes the trace and draws the paths over the contours.

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "../command.hpp"
#include "../minimize/expression.hpp"
#include "../minimize/functions.hpp"
#include "../plot/contours.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/symgrad.hpp"
#include "symgrad/train/lr_schedule.hpp"
#include "symgrad/plugin/objective.hpp"
#include "symgrad/train/training_step.hpp"

namespace symgrad::cli {

namespace po = boost::program_options;

namespace {

// What is minimized: f built over a vector x of `dim` components.
struct Problem {
  std::string name;
  std::size_t dim = 2;
  std::function<Value(Value)> build;
  std::vector<double> start, minimum;
  std::array<std::string, 2> axes = {"x0", "x1"};  // the plot's axis names: the expression's variables
};

// One optimizer run: "adam" or "adam:lr=0.1,beta1=0.8", with the shared --set settings.
struct Run {
  std::string label, optimizer;
  Settings settings;
  std::vector<double> loss;
  std::vector<std::vector<double>> x;
  std::string stopped;  // why it ended early, if it did
  // what evaluation reads when a strategy keeps its own (Polyak's average): the point and f there
  std::vector<double> evaluated;
  double evaluated_loss = 0;
};

std::string point_text(const std::vector<double>& x) {
  std::string s;
  for (double v : x) s += fmt::format("{}{:.6g}", s.empty() ? "" : ", ", v);
  return "(" + s + ")";
}

// Learning-rate schedule, gradient clipping and strategies of the first-order runs.
struct StepOptions {
  std::unique_ptr<LrSchedule> schedule;
  double clip_norm = 0, clip_value = 0;
  std::vector<std::pair<std::string, Settings>> strategies;    // made anew for each run
  std::vector<std::pair<std::string, Settings>> regularizers;  // likewise
};

void run_first_order(const Problem& problem, Run& run, DType dtype, int steps, const StepOptions& so) {
  Graph g;
  const auto n = static_cast<std::int64_t>(problem.dim);
  Value x = g.variable("x", {dtype, Shape{n}});
  Value loss = problem.build(x);
  VariableStore store;
  store.set("x", Tensor::from(dtype, Shape{n}, problem.start));
  CompileOptions o;
  o.backend = dtype == DType::f64 ? "reference" : "onednn";
  Plan value = compile(g, {loss}, o);
  std::vector<std::unique_ptr<Extension>> made;
  std::vector<NamedExtension> extensions;
  for (const auto& [name, settings] : so.regularizers) {
    made.push_back(PluginRegistry::global().make_regularizer(name, settings));
    extensions.push_back({name, made.back().get()});
  }
  for (const auto& [name, settings] : so.strategies) {
    made.push_back(PluginRegistry::global().make_strategy(name, settings));
    extensions.push_back({name, made.back().get()});
  }
  for (const auto& e : extensions) {  // the function minimized: f(x) and the penalties on x
    Value pen = e.extension->penalty(PenaltyContext(g, {{"x", x}}));
    if (pen.valid()) loss = loss + pen;
  }
  if (!so.regularizers.empty()) value = compile(g, {loss}, o);
  const StepSpec spec{run.optimizer, run.settings, {}, so.clip_norm, so.clip_value};
  const TrainingStep built = build_training_step(g, loss, {{"x", x}}, spec, extensions, store);
  o.updates = built.updates;
  Plan step = compile(g, {loss}, o);
  TrainEvent event;
  event.store = &store;
  for (const auto& e : extensions) e.extension->on_train_begin(event);
  for (int k = 0; k < steps; ++k) {
    event.step = k;
    for (const auto& e : extensions) e.extension->on_step_begin(event);
    if (so.schedule) apply_lr_schedule(store, built.optimizer, *so.schedule, k);
    run.x.push_back(store.get("x").to_vector());
    run.loss.push_back(step.run({}, &store)[0].get(0));  // the loss at x_k, before the update
    if (!std::isfinite(run.loss.back())) {
      run.stopped = fmt::format("the loss became {} at step {}", run.loss.back(), k);
      return;
    }
  }
  run.x.push_back(store.get("x").to_vector());
  run.loss.push_back(value.run({}, &store)[0].get(0));
  if (!built.evaluation_variables.empty()) {
    VariableStore view = evaluation_view(store, built.evaluation_variables);
    run.evaluated = view.get("x").to_vector();
    run.evaluated_loss = value.run({}, &view)[0].get(0);
  }
}

void run_host(const Problem& problem, Run& run, HostOptimizer& opt, DType dtype, int steps) {
  Graph g;
  const auto n = static_cast<std::int64_t>(problem.dim);
  Value x = g.variable("x", {dtype, Shape{n}});
  VariableStore store;
  store.set("x", Tensor::from(dtype, Shape{n}, problem.start));
  GraphObjective objective(g, problem.build(x), {x}, store, {}, dtype == DType::f64 ? "reference" : "onednn");
  std::vector<double> xv = objective.current();
  double f = objective.value(xv);
  for (int k = 0; k < steps; ++k) {
    run.x.push_back(xv);
    run.loss.push_back(f);
    if (!std::isfinite(f)) {
      run.stopped = fmt::format("the loss became {} at step {}", f, k);
      return;
    }
    f = opt.iterate(objective, xv);
  }
  run.x.push_back(xv);
  run.loss.push_back(f);
}

void write_trace(const std::string& file, const Run& run) {
  std::ofstream out(file);
  if (!out) throw Error(fmt::format("cannot write the trace '{}'", file));
  out << "step,loss";
  for (std::size_t i = 0; i < run.x.front().size(); ++i) out << ",x" << i;
  out << "\n";
  for (std::size_t k = 0; k < run.x.size(); ++k) {
    out << k << fmt::format(",{:.17g}", run.loss[k]);
    for (double v : run.x[k]) out << fmt::format(",{:.17g}", v);
    out << "\n";
  }
  out.close();  // every byte written, or an error naming the file (a full disk, /dev/full)
  if (!out) throw Error(fmt::format("cannot write the trace '{}' (is the disk full?)", file));
}

// trace.csv for one run; trace-<label>.csv for each of several.
std::string trace_file(const std::string& file, const Run& run, std::size_t runs) {
  if (runs == 1) return file;
  const auto dot = file.rfind('.');
  std::string label = run.label;
  for (char& c : label) {
    if (c == ':' || c == ',' || c == '=' || c == '/') c = '_';
  }
  return dot == std::string::npos ? file + "-" + label : file.substr(0, dot) + "-" + label + file.substr(dot);
}

}  // namespace

int minimize_command(const std::vector<std::string>& args) {
  po::options_description opts(
      "usage: symgrad minimize (--function NAME | --expr \"EXPR\") [--start x0,x1,...] --optimizer NAME[:k=v,...]...\n"
      "                        [--set key=value ...] [--steps N] [--dtype f64|f32] [--trace FILE.csv]\n"
      "                        [--plot FILE.svg] [--schedule NAME[:k=v,...]] [--clip-norm X] [--clip-value X]\n"
      "                        [--strategy NAME[:k=v,...]]... [--regularizer NAME[:k=v,...]]...\n"
      "Minimizes a function with one or more optimizers (plugins: see 'symgrad plugins --kind optimizer').\n"
      "Functions: rosenbrock, beale, booth, sphere, himmelblau, matyas, mccormick, styblinski_tang,\n"
      "quadratic, saddle, monkey_saddle ('symgrad minimize --list' describes them); rosenbrock, sphere,\n"
      "styblinski_tang and quadratic take --set dim=N, quadratic --set cond=K. Expressions use x, y (or\n"
      "x0..xn), numbers, + - * / ^ (or **), parentheses, exp, log, sqrt, sin, cos, tanh, abs, square, sigmoid,\n"
      "relu, leaky_relu, softplus. The trace has the\n"
      "header step,loss,x0,...: row k is the point before step k, the last row the point after the last\n"
      "step (with several optimizers, one file each: FILE-<optimizer>.csv). Schedules (first-order\n"
      "optimizers): constant, step, multistep, exponential, inverse_time, cosine, each with warmup_steps.\n"
      "Strategies (first-order optimizers; 'symgrad plugins --kind strategy'), e.g. coordinate_descent:\n"
      "the path moves along one axis at a time. Regularizers (first-order optimizers) add their penalty to\n"
      "the function and act on x after each step: --regularizer l2:lambda=0.5,pattern=x makes an\n"
      "under-constrained problem's minimum unique.\n"
      "Options");
  std::string function, expr, start_text, trace, plot, dtype_text = "f64", schedule_spec;
  double clip_norm = 0, clip_value = 0;
  std::vector<std::string> optimizers, sets, strategies, regularizers;
  int steps = 100;
  opts.add_options()("help,h", "this help")("list", "describe the built-in functions")(
      "function", po::value(&function), "a built-in function")("expr", po::value(&expr), "an expression")(
      "start", po::value(&start_text), "the start point (default: the function's, or 0 for an expression)")(
      "optimizer", po::value(&optimizers), "an optimizer, with settings after ':' (repeatable: a comparison)")(
      "set", po::value(&sets), "key=value for the optimizers, or dim / cond for the function (repeatable)")(
      "steps", po::value(&steps)->default_value(100), "steps (iterations for host-driven optimizers)")(
      "dtype", po::value(&dtype_text)->default_value("f64"), "f64 (reference backend) or f32 (onednn)")(
      "trace", po::value(&trace), "write the trace as CSV")("plot", po::value(&plot), "draw a 2-D function's contours with the paths (.svg, .png)")(
      "schedule", po::value(&schedule_spec), "learning-rate schedule, with settings after ':'")(
      "clip-norm", po::value(&clip_norm), "clip the gradient to this global norm")(
      "clip-value", po::value(&clip_value), "clip each gradient element to [-X, X]")(
      "strategy", po::value(&strategies), "a strategy plugin, with settings after ':' (repeatable)")(
      "regularizer", po::value(&regularizers), "a regularizer plugin acting on x, with settings after ':' (repeatable)");
  po::variables_map vm;
  if (parse_arguments(args, opts, vm)) return kOk;
  if (vm.count("list")) {
    for (const auto& f : test_functions()) {
      fmt::print("{:16} {}\n{:16} start {}{}; {}{}\n", f.name, f.formula, "", point_text(f.start),
                 f.minimum.empty() ? ", unbounded below" : ", minimum at " + point_text(f.minimum), f.why,
                 f.any_dimension ? " (any dimension: --set dim=N)" : "");
    }
    return kOk;
  }
  if (function.empty() == expr.empty()) throw UsageError("give exactly one of --function and --expr");
  if (optimizers.empty()) throw UsageError("give at least one --optimizer");
  if (steps < 0) throw UsageError("--steps must be >= 0");
  if (dtype_text != "f64" && dtype_text != "f32") throw UsageError(fmt::format("--dtype '{}': f64 or f32", dtype_text));
  const DType dtype = dtype_text == "f64" ? DType::f64 : DType::f32;

  // Function settings (dim, cond) come out of --set; the rest go to the optimizers.
  std::optional<std::size_t> dim;
  double cond = 10;
  std::vector<std::string> optimizer_sets;
  for (const auto& s : sets) {
    if (s.rfind("dim=", 0) == 0 || s.rfind("cond=", 0) == 0) {
      char* end = nullptr;
      const double v = std::strtod(s.c_str() + s.find('=') + 1, &end);
      if (*end != '\0' || !(v > 0)) throw UsageError(fmt::format("--set {}: a positive number is needed", s));
      if (s[0] == 'd') {
        dim = static_cast<std::size_t>(v);
      } else {
        cond = v;
      }
    } else {
      optimizer_sets.push_back(s);
    }
  }
  Problem problem;
  std::unique_ptr<Expression> expression;
  if (!function.empty()) {
    const TestFunction& f = test_function(function);
    if (dim && !f.any_dimension && *dim != 2) throw UsageError(fmt::format("{} is 2-D only", f.name));
    if (cond != 10 && f.name != "quadratic") throw UsageError("cond applies to the quadratic function only");
    problem.dim = dim.value_or(2);
    problem.name = f.name;
    problem.start = f.start_in(problem.dim);
    if (problem.dim == 2) problem.minimum = f.minimum;
    const std::size_t d = problem.dim;
    problem.build = [&f, d, cond](Value x) { return f.build(x, d, cond); };
  } else {
    try {
      expression = std::make_unique<Expression>(expr);
    } catch (const ExpressionError& e) {
      throw UsageError(fmt::format("--expr: {}", e.what()));
    }
    if (expression->dimension() == 0) throw UsageError("--expr: the expression has no variables");
    problem.name = expr;
    problem.dim = expression->dimension();
    problem.axes = {expression->variable_name(0), expression->variable_name(1)};
    problem.start.assign(problem.dim, 0.0);
    const Expression* e = expression.get();
    problem.build = [e](Value x) { return e->build(x); };
  }
  if (!start_text.empty()) {
    problem.start = parse_point(start_text, "--start");
    if (problem.start.size() != problem.dim) {
      throw UsageError(fmt::format("--start has {} values, the function has {} variables", problem.start.size(), problem.dim));
    }
  }

  StepOptions step_options;
  step_options.clip_norm = clip_norm;
  step_options.clip_value = clip_value;
  if (vm.count("clip-norm") && !(clip_norm > 0)) throw UsageError("--clip-norm must be > 0");
  if (vm.count("clip-value") && !(clip_value > 0)) throw UsageError("--clip-value must be > 0");
  if (!schedule_spec.empty()) {
    const auto colon = schedule_spec.find(':');
    const std::string name = schedule_spec.substr(0, colon);
    const Schema schema = lr_schedule_schema(name);
    Settings settings;
    if (colon != std::string::npos) {
      for (const auto& kv : split(schedule_spec.substr(colon + 1), ',')) settings.insert(parse_setting(kv, schema));
    }
    step_options.schedule = make_lr_schedule(name, settings);
  }
  auto& registry = PluginRegistry::global();
  // NAME[:k=v,...] of a strategy or regularizer, checked against its schema before any run
  const auto component = [&](const std::string& spec, ComponentKind kind) {
    const auto colon = spec.find(':');
    const std::string name = spec.substr(0, colon);
    const ComponentInfo& info = registry.get(kind, name);
    Settings settings;
    if (colon != std::string::npos) {
      for (const auto& kv : split(spec.substr(colon + 1), ',')) {
        auto [key, value] = parse_setting(kv, info.schema);
        settings.insert_or_assign(key, value);
      }
    }
    Hyperparams(info.schema, settings, fmt::format("{} '{}'", to_string(kind), name));
    return std::pair{name, settings};
  };
  for (const auto& spec : strategies) step_options.strategies.push_back(component(spec, ComponentKind::strategy));
  for (const auto& spec : regularizers) step_options.regularizers.push_back(component(spec, ComponentKind::regularizer));
  std::vector<Run> runs;
  for (const auto& spec : optimizers) {
    Run run;
    run.label = spec;
    const auto colon = spec.find(':');
    run.optimizer = spec.substr(0, colon);
    const ComponentInfo& info = registry.get(ComponentKind::optimizer, run.optimizer);
    std::vector<std::string> own = optimizer_sets;
    if (colon != std::string::npos) {
      for (const auto& kv : split(spec.substr(colon + 1), ',')) own.push_back(kv);
    }
    for (const auto& kv : own) {
      auto [key, value] = parse_setting(kv, info.schema);
      run.settings.insert_or_assign(key, value);
    }
    runs.push_back(std::move(run));
  }
  fmt::print("{} in {} dimensions from {}{}; {} steps, {} on the {} backend\n", problem.name, problem.dim,
             point_text(problem.start), problem.minimum.empty() ? "" : ", minimum at " + point_text(problem.minimum),
             steps, dtype_text, dtype == DType::f64 ? "reference" : "onednn");
  fmt::print("{:32} {:>14}  {}\n", "optimizer", "final loss", "final point");
  for (auto& run : runs) {
    if (registry.get(ComponentKind::optimizer, run.optimizer).host_driven) {
      if (step_options.schedule || clip_norm > 0 || clip_value > 0 || !step_options.strategies.empty() ||
          !step_options.regularizers.empty()) {
        throw UsageError(fmt::format("{} is host-driven: --schedule, clipping, --strategy and --regularizer apply to "
                                     "first-order optimizers",
                                     run.optimizer));
      }
      run_host(problem, run, *registry.make_host_optimizer(run.optimizer, run.settings), dtype, steps);
    } else {
      run_first_order(problem, run, dtype, steps, step_options);
    }
    fmt::print("{:32} {:>14.6e}  {}{}\n", run.label, run.loss.back(), point_text(run.x.back()),
               run.stopped.empty() ? "" : "  (stopped: " + run.stopped + ")");
    if (!run.evaluated.empty()) {  // a strategy's own point (Polyak's average)
      fmt::print("{:32} {:>14.6e}  {}  (what evaluation reads)\n", "  " + step_options.strategies.front().first,
                 run.evaluated_loss, point_text(run.evaluated));
    }
    if (!trace.empty()) write_trace(trace_file(trace, run, runs.size()), run);
  }
  if (!plot.empty()) {
    if (problem.dim != 2) throw UsageError(fmt::format("--plot draws 2-D functions; this one has {} variables", problem.dim));
    Graph g;
    Value p = g.input("p", {DType::f64, Shape{2}});
    Plan value = compile(g, {problem.build(p)});
    Tensor point(DType::f64, Shape{2});
    auto f = [&](double a, double b) {
      point.set(0, a), point.set(1, b);
      return value.run({{"p", point}})[0].get(0);
    };
    std::vector<PlotPath> paths;
    for (const auto& run : runs) paths.push_back({run.label, run.x});
    std::vector<std::vector<double>> extra = {problem.start};
    if (!problem.minimum.empty()) extra.push_back(problem.minimum);
    plot_contours(plot, fmt::format("{}: {} steps", problem.name, steps), f, paths, extra, problem.axes);
    fmt::print("plot: {}\n", plot);
  }
  return kOk;
}

}  // namespace symgrad::cli
