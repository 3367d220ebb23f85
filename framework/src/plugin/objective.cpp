#include "symgrad/plugin/objective.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "symgrad/autodiff/gradients.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/ops/ops.hpp"

namespace symgrad {

namespace {

// Copies t.numel() values of `src` from `offset` into a floating tensor, converting.
void scatter(const std::vector<double>& src, std::size_t offset, Tensor& t) {
  const double* s = src.data() + offset;
  const std::int64_t n = t.numel();
  if (t.dtype() == DType::f64) {
    std::copy(s, s + n, t.data<double>());
  } else if (t.dtype() == DType::f32) {
    float* d = t.data<float>();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (std::int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(s[i]);
  } else {
    for (std::int64_t i = 0; i < n; ++i) t.set(i, s[i]);
  }
}

void gather(const Tensor& t, std::vector<double>& dst, std::size_t offset) {
  double* d = dst.data() + offset;
  const std::int64_t n = t.numel();
  if (t.dtype() == DType::f64) {
    std::copy(t.data<double>(), t.data<double>() + n, d);
  } else if (t.dtype() == DType::f32) {
    const float* s = t.data<float>();
#pragma omp parallel for schedule(static) if (n > 65536)
    for (std::int64_t i = 0; i < n; ++i) d[i] = s[i];
  } else {
    for (std::int64_t i = 0; i < n; ++i) d[i] = t.get(i);
  }
}

// The inputs v of Hessian-vector products: "objective/v/<param>", or "objective<k>/v/<param>"
// with the first k free when another objective on the graph took those names.
std::vector<std::string> v_names(const Graph& g, const std::vector<Value>& params) {
  for (int k = 1;; ++k) {
    const std::string prefix = k == 1 ? "objective/v/" : fmt::format("objective{}/v/", k);
    std::vector<std::string> names;
    bool free = true;
    for (const auto& p : params) {
      names.push_back(prefix + p.producer().name);
      free = free && !g.find_leaf(NodeKind::input, names.back()).valid();
    }
    if (free) return names;
  }
}

// The prefix v_names chose, found again among the plan's inputs (those not fed with the data; a
// v the product does not depend on is not among them). "" when it depends on none.
std::string v_prefix(const Plan& hvp, const Feeds& data, const std::vector<Value>& params) {
  for (const auto& name : hvp.input_names()) {
    if (data.count(name) != 0) continue;
    for (const auto& p : params) {
      const std::string suffix = "/v/" + p.producer().name;
      if (name.size() > suffix.size() && name.ends_with(suffix)) return name.substr(0, name.size() - p.producer().name.size());
    }
  }
  return "";
}

}  // namespace

GraphObjective::GraphObjective(Graph& graph, Value loss, std::vector<Value> params, VariableStore& store, Feeds feeds,
                               const std::string& backend)
    : graph_(&graph), loss_(loss), params_(std::move(params)), store_(&store), feeds_(std::move(feeds)),
      backend_(backend) {
  if (loss.shape().numel() != 1) {
    throw UsageError(fmt::format("an objective needs a scalar loss, got {}", loss.type().to_string()));
  }
  for (const auto& p : params_) {
    if (p.producer().kind != NodeKind::variable) {
      throw UsageError(fmt::format("objective parameter {} is not a variable", p.producer().label()));
    }
    n_ += static_cast<std::size_t>(p.shape().numel());
  }
  CompileOptions o;
  o.backend = backend_;
  value_plan_ = std::make_unique<Plan>(compile(graph, {loss}, o));
  auto grads = gradients(loss, params_);
  std::vector<Value> outs = {loss};
  outs.insert(outs.end(), grads.begin(), grads.end());
  grad_plan_ = std::make_unique<Plan>(compile(graph, outs, o));
}

GraphObjective::~GraphObjective() = default;

std::vector<double> GraphObjective::current() const {
  std::vector<double> x(n_);
  std::size_t off = 0;
  for (const auto& p : params_) {
    gather(store_->get(p.producer().name), x, off);
    off += static_cast<std::size_t>(p.shape().numel());
  }
  return x;
}

void GraphObjective::assign(const std::vector<double>& x) {
  if (x.size() != n_) throw UsageError(fmt::format("objective of {} parameters given {} values", n_, x.size()));
  std::size_t off = 0;
  for (const auto& p : params_) {
    scatter(x, off, store_->get(p.producer().name));
    off += static_cast<std::size_t>(p.shape().numel());
  }
}

double GraphObjective::value(const std::vector<double>& x) {
  assign(x);
  ++value_calls;
  return value_plan_->run(feeds_, store_)[0].get(0);
}

double GraphObjective::value_and_grad(const std::vector<double>& x, std::vector<double>& grad) {
  assign(x);
  ++gradient_calls;
  const auto& out = grad_plan_->run(feeds_, store_);
  grad.resize(n_);  // every element is written below
  std::size_t off = 0;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    gather(out[i + 1], grad, off);
    off += static_cast<std::size_t>(params_[i].shape().numel());
  }
  return out[0].get(0);
}

void GraphObjective::hessian_vector_product(const std::vector<double>& x, const std::vector<double>& v,
                                            std::vector<double>& hv) {
  if (v.size() != n_) throw UsageError(fmt::format("Hessian-vector product of {} parameters given {} values", n_, v.size()));
  if (!hvp_plan_) {  // built on first use: most optimizers never need it
    std::vector<Value> vs;
    const std::vector<std::string> names = v_names(*graph_, params_);
    for (std::size_t i = 0; i < params_.size(); ++i) vs.push_back(graph_->input(names[i], params_[i].type()));
    CompileOptions o;
    o.backend = backend_;
    hvp_plan_ = std::make_unique<Plan>(compile(*graph_, symgrad::hessian_vector_product(loss_, params_, vs), o));
  }
  assign(x);
  ++hvp_calls;
  Feeds feeds = feeds_;
  const std::string prefix = v_prefix(*hvp_plan_, feeds_, params_);
  std::size_t off = 0;
  for (const auto& p : params_) {
    Tensor t(p.type());
    scatter(v, off, t);
    if (!prefix.empty()) feeds[prefix + p.producer().name] = t;
    off += static_cast<std::size_t>(p.shape().numel());
  }
  const auto& out = hvp_plan_->run(feeds, store_);
  hv.assign(n_, 0.0);
  off = 0;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    gather(out[i], hv, off);
    off += static_cast<std::size_t>(params_[i].shape().numel());
  }
}

void GraphObjective::hessian(const std::vector<double>& x, std::vector<double>& h) {
  h.assign(n_ * n_, 0.0);
  if (params_.size() == 1) {  // one parameter: the dense Hessian as one plan
    if (!hessian_plan_) {
      CompileOptions o;
      o.backend = backend_;
      hessian_plan_ = std::make_unique<Plan>(compile(*graph_, {symgrad::hessian(loss_, params_[0])}, o));
    }
    assign(x);
    ++hessian_calls;
    gather(hessian_plan_->run(feeds_, store_)[0], h, 0);
    return;
  }
  std::vector<double> e(n_, 0.0), col;  // several: one Hessian-vector product per column
  for (std::size_t j = 0; j < n_; ++j) {
    e[j] = 1.0;
    hessian_vector_product(x, e, col);
    for (std::size_t i = 0; i < n_; ++i) h[i * n_ + j] = col[i];
    e[j] = 0.0;
  }
  ++hessian_calls;
}

}  // namespace symgrad
