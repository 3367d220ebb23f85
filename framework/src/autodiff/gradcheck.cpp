#include "symgrad/autodiff/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "symgrad/autodiff/gradients.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/graph/op_registry.hpp"
#include "symgrad/ops/ops.hpp"

namespace symgrad {
namespace {

// SplitMix64: a small counter-based generator, identical on every platform.
struct Rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform(double lo, double hi) {
    return lo + (hi - lo) * static_cast<double>(next() >> 11) * 0x1.0p-53;
  }
};

Tensor random_like(const TensorType& t, Rng& rng) {
  Tensor r(t);
  for (std::int64_t i = 0; i < r.numel(); ++i) r.set(i, rng.uniform(-1.0, 1.0));
  return r;
}

// L = sum_j sum(r_j * y_j) with constant random r_j.
Value project(const std::vector<Value>& ys, Rng& rng) {
  Value total;
  for (const auto& y : ys) {
    if (!y.shape().is_static()) {
      throw ShapeError(fmt::format("gradcheck: output {} has open shape {}; feed concrete shapes",
                                   y.producer().label(), y.type().to_string()));
    }
    Value term = sum(y * y.graph->constant(random_like(y.type(), rng)));
    total = total.valid() ? add(total, term) : term;
  }
  return total;
}

std::string name_of(const Value& v) { return v.producer().name; }

// Compares analytic gradients (one plan run) with central differences of `scalar`.
GradcheckResult compare(Value scalar, const std::vector<Value>& analytic, const std::vector<Value>& wrt,
                        const Feeds& feeds, const GradcheckOptions& o) {
  Graph& g = *scalar.graph;
  std::vector<Value> outs = analytic;
  outs.push_back(scalar);
  CompileOptions co;
  co.backend = o.backend;
  Plan plan = compile(g, outs, co);
  std::vector<Tensor> grads;
  for (const auto& t : plan.run(feeds)) grads.push_back(t.clone());
  Plan value_plan = compile(g, {scalar}, co);
  Feeds work = feeds;
  for (auto& [k, t] : work) t = t.clone();

  GradcheckResult result;
  for (std::size_t i = 0; i < wrt.size(); ++i) {
    InputReport rep;
    rep.name = name_of(wrt[i]);
    Tensor& x = work.at(rep.name);
    double worst_excess = -1.0;
    for (std::int64_t k = 0; k < x.numel(); ++k) {
      const double x0 = x.get(k);
      x.set(k, x0 + o.eps);
      const double up = value_plan.run(work)[0].get(0);
      x.set(k, x0 - o.eps);
      const double down = value_plan.run(work)[0].get(0);
      x.set(k, x0);
      const double num = (up - down) / (2.0 * o.eps);
      record_element(rep, k, grads[i].get(k), num, o, worst_excess);
    }
    result.passed = result.passed && rep.passed;
    result.inputs.push_back(rep);
  }
  return result;
}

void check_wrt(const std::vector<Value>& wrt, const Feeds& feeds, DType dtype) {
  for (const auto& w : wrt) {
    const Node& n = w.producer();
    if (n.kind != NodeKind::input) {
      throw UsageError(fmt::format("gradcheck: {} is not an input placeholder", n.label()));
    }
    if (w.dtype() != dtype) {
      throw UsageError(fmt::format("gradcheck: input '{}' is {}; this check runs in {} (set "
                                   "GradcheckOptions::dtype)",
                                   n.name, w.type().to_string(), to_string(dtype)));
    }
    if (!feeds.count(n.name)) throw FeedError(fmt::format("gradcheck: input '{}' is not fed", n.name));
  }
}

struct OpGraph {
  Graph graph;
  std::vector<Value> outputs, wrt;
  Feeds feeds;
};

void build_op_graph(OpGraph& og, const OpDef& op, const Sample& sample, const GradcheckOptions& o) {
  auto values = sample_values(sample, o.seed);
  Attrs attrs = sample.attrs;
  if (o.dtype != DType::f64) {  // floating samples (and dtype attributes) in the checked dtype
    for (auto& v : values) {
      if (v.dtype() == DType::f64) v = v.to(o.dtype);
    }
    if (attrs.has("dtype") && attrs.get_string("dtype") == "f64") {
      attrs.set("dtype", std::string(to_string(o.dtype)));
    }
  }
  std::vector<Value> ins;
  for (std::size_t i = 0; i < sample.inputs.size(); ++i) {
    const std::string name = fmt::format("x{}", i);
    Value v = og.graph.input(name, values[i].type());
    og.feeds[name] = values[i];
    ins.push_back(v);
    if (sample.inputs[i].differentiable) og.wrt.push_back(v);
  }
  og.outputs = og.graph.apply(op.name, ins, attrs);
}

}  // namespace

double gradcheck_excess(double analytic, double numeric, const GradcheckOptions& o) {
  return std::abs(analytic - numeric) - (o.atol + o.rtol * std::max(std::abs(numeric), o.floor));
}

void record_element(InputReport& rep, std::int64_t k, double ana, double num, const GradcheckOptions& o,
                    double& worst_excess) {
  const double err = std::abs(ana - num);
  const double scale = std::max(std::abs(ana), std::abs(num));
  rep.max_abs_error = std::max(rep.max_abs_error, err);
  if (scale > o.atol) rep.max_rel_error = std::max(rep.max_rel_error, err / scale);
  const double excess = gradcheck_excess(ana, num, o);
  if (!(excess <= 0.0)) rep.passed = false;  // NaN fails too
  if (excess > worst_excess || std::isnan(excess)) {
    worst_excess = std::isnan(excess) ? INFINITY : excess;
    rep.worst_index = k;
    rep.analytic = ana;
    rep.numeric = num;
  }
}

bool slopes_disagree(double a, double b) {
  return std::abs(a - b) > 1e-2 * std::max({1.0, std::abs(a), std::abs(b)});
}

std::string GradcheckResult::to_string() const {
  std::string s;
  for (const auto& r : inputs) {
    s += fmt::format("{:8} max abs {:9.2e}  max rel {:9.2e}  worst [{}] analytic {:.6g} numeric {:.6g}  {}\n",
                     r.name, r.max_abs_error, r.max_rel_error, r.worst_index, r.analytic, r.numeric,
                     r.passed ? "ok" : "FAIL");
  }
  return s;
}

GradcheckResult gradcheck(const std::vector<Value>& outputs, const std::vector<Value>& wrt,
                          const Feeds& feeds, const GradcheckOptions& options) {
  if (outputs.empty()) throw UsageError("gradcheck: no outputs");
  if (wrt.empty()) return {};
  check_wrt(wrt, feeds, options.dtype);
  Rng rng{options.seed};
  Value loss = project(outputs, rng);
  auto grads = gradients(loss, wrt, GradientOptions{true});
  return compare(loss, grads, wrt, feeds, options);
}

GradcheckResult gradgradcheck(const std::vector<Value>& outputs, const std::vector<Value>& wrt,
                              const Feeds& feeds, const GradcheckOptions& options) {
  if (outputs.empty()) throw UsageError("gradgradcheck: no outputs");
  if (wrt.empty()) return {};
  check_wrt(wrt, feeds, options.dtype);
  Rng rng{options.seed};
  Value loss = project(outputs, rng);
  auto first = gradients(loss, wrt, GradientOptions{true});
  Value s = project(first, rng);
  auto second = gradients(s, wrt, GradientOptions{true});
  return compare(s, second, wrt, feeds, options);
}

std::vector<Tensor> sample_values(const Sample& sample, std::uint64_t seed) {
  Rng rng{seed};
  std::vector<Tensor> out;
  for (const auto& in : sample.inputs) {
    if (in.value) {
      out.push_back(*in.value);
      continue;
    }
    Tensor t(in.type);
    const bool straddles = in.low < 0.0 && in.high > 0.0;
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      double v = rng.uniform(in.low, in.high);
      while (straddles && std::abs(v) < 0.1) v = rng.uniform(in.low, in.high);
      t.set(i, v);
    }
    out.push_back(t);
  }
  return out;
}

GradcheckResult gradcheck_op(const OpDef& op, const Sample& sample, const GradcheckOptions& options) {
  OpGraph og;
  build_op_graph(og, op, sample, options);
  return gradcheck(og.outputs, og.wrt, og.feeds, options);
}

GradcheckResult gradgradcheck_op(const OpDef& op, const Sample& sample,
                                 const GradcheckOptions& options) {
  OpGraph og;
  build_op_graph(og, op, sample, options);
  return gradgradcheck(og.outputs, og.wrt, og.feeds, options);
}

std::string FormulaCheck::describe(const std::string& op, const std::string& sample) const {
  if (passed) return fmt::format("the formula of op '{}' agrees with its kernel (max error {:.2e})", op, max_error);
  return fmt::format("the formula of op '{}' differs from its reference kernel at sample '{}' by {:.3g} (element {}: "
                     "formula {:.9g}, kernel {:.9g})",
                     op, sample, max_error, worst_index, formula, kernel);
}

FormulaCheck check_formula_op(const OpDef& op, const Sample& sample, const GradcheckOptions& options) {
  FormulaCheck r;
  if (op.formula.empty()) return r;
  OpGraph og;
  GradcheckOptions reference = options;
  reference.backend = "reference";
  build_op_graph(og, op, sample, reference);
  Graph& g = og.graph;
  std::vector<Value> inputs;
  for (std::size_t i = 0; i < sample.inputs.size(); ++i) inputs.push_back(g.find_leaf(NodeKind::input, fmt::format("x{}", i)));
  std::vector<Value> steps;
  for (const FormulaStep& s : op.formula) {
    std::vector<Value> args;
    for (int a : s.args) args.push_back(a < 0 ? inputs.at(static_cast<std::size_t>(-a - 1)) : steps.at(static_cast<std::size_t>(a)));
    if (s.op == "constant") {
      steps.push_back(g.scalar(s.p, options.dtype));
      continue;
    }
    Attrs attrs;
    if (s.op == "pow") attrs.set("p", s.p);
    if (s.op == "leaky_relu") attrs.set("alpha", s.p);
    steps.push_back(g.apply1(s.op, args, attrs));
  }
  CompileOptions co;
  co.backend = "reference";
  Plan plan = compile(g, {og.outputs.front(), steps.back()}, co);
  const auto& out = plan.run(og.feeds);
  const Tensor& kernel = out[0];
  const Tensor formula = out[1].numel() == kernel.numel() ? out[1] : Tensor();
  if (!formula.defined()) {
    r.passed = false;
    return r;
  }
  const double tolerance = options.dtype == DType::f64 ? 1e-6 : 1e-4;
  for (std::int64_t i = 0; i < kernel.numel(); ++i) {
    const double k = kernel.get(i), f = formula.get(i);
    const double e = f == k || (std::isnan(k) && std::isnan(f)) ? 0.0
                     : std::isfinite(k) && std::isfinite(f)     ? std::abs(f - k) / std::max(1.0, std::abs(k))
                                                                : std::numeric_limits<double>::infinity();
    if (e > r.max_error || r.worst_index < 0) r.max_error = e, r.worst_index = i, r.formula = f, r.kernel = k;
  }
  r.passed = r.max_error <= tolerance;
  return r;
}

}  // namespace symgrad
