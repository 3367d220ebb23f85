#include "symgrad/autodiff/gradients.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/graph/op_def.hpp"
#include "symgrad/ops/ops.hpp"

namespace symgrad {
namespace {

// PullbackContext::partials: what a pullback written as a formula of its node's inputs needs.
std::vector<Value> partial_derivatives(const std::vector<Value>& ys, const std::vector<Value>& seeds,
                                       const std::vector<Value>& wrt) {
  return vjp(ys, seeds, wrt, GradientOptions{true, true});
}

bool shapes_compatible(const Shape& a, const Shape& b) {
  if (a.rank() != b.rank()) return false;
  for (std::size_t i = 0; i < a.rank(); ++i) {
    if (a[i] != b[i] && a[i] != Shape::kOpen && b[i] != Shape::kOpen) return false;
  }
  return true;
}

std::string describe(const Value& v) {
  const Node& n = v.producer();
  return n.outputs.size() > 1 ? fmt::format("{} output {}", n.label(), v.index) : n.label();
}

Value sum_all(const std::vector<Value>& parts) {
  Value total = parts.front();
  for (std::size_t i = 1; i < parts.size(); ++i) total = add(total, parts[i]);
  return total;
}

using Key = std::pair<std::int32_t, std::int32_t>;  // (node, output)

// Ones or zeros of v's type. A constant when the shape is static, so that the gradient graph
// does not depend on v's value (computing a gradient must not compute what it does not need).
Value filled_like(Value v, double value) {
  if (v.shape().is_static()) {
    Tensor t(v.type());
    t.fill(value);
    return v.graph->constant(t);
  }
  return fill_like(v, value);
}

}  // namespace

std::vector<Value> vjp(const std::vector<Value>& ys, const std::vector<Value>& seeds,
                       const std::vector<Value>& wrt, const GradientOptions& options) {
  if (ys.empty() || ys.size() != seeds.size()) {
    throw UsageError(fmt::format("vjp: {} outputs but {} seeds", ys.size(), seeds.size()));
  }
  Graph& g = *ys[0].graph;
  for (const auto& v : ys) {
    if (v.graph != &g) throw UsageError("vjp: outputs from different graphs");
  }
  for (const auto& v : wrt) {
    if (v.graph != &g) throw UsageError("gradients: a wrt value belongs to another graph");
  }
  for (std::size_t j = 0; j < ys.size(); ++j) {
    if (seeds[j].dtype() != ys[j].dtype() || !shapes_compatible(seeds[j].shape(), ys[j].shape())) {
      throw ShapeError(fmt::format("vjp: seed {} has type {}, output {} has {}", j,
                                   seeds[j].type().to_string(), describe(ys[j]),
                                   ys[j].type().to_string()));
    }
  }
  Graph::GradientScope scope(g);
  const auto n = static_cast<std::int32_t>(g.size());

  // Nodes on a path: reachable from a wrt value (forward) and reaching an output (backward).
  std::vector<char> from_wrt(static_cast<std::size_t>(n), 0), to_y(static_cast<std::size_t>(n), 0);
  for (const auto& v : wrt) from_wrt[static_cast<std::size_t>(v.node)] = 1;
  for (std::int32_t i = 0; i < n; ++i) {
    for (const auto& in : g.node(i).inputs) {
      if (from_wrt[static_cast<std::size_t>(in.node)]) from_wrt[static_cast<std::size_t>(i)] = 1;
    }
  }
  std::int32_t top = 0;
  for (const auto& v : ys) {
    to_y[static_cast<std::size_t>(v.node)] = 1;
    top = std::max(top, v.node);
  }
  std::vector<char> cut(static_cast<std::size_t>(n), 0);  // independent wrt: not differentiated through
  if (options.independent_wrt) {
    for (const auto& v : wrt) cut[static_cast<std::size_t>(v.node)] = 1;
  }
  for (std::int32_t i = top; i >= 0; --i) {
    if (!to_y[static_cast<std::size_t>(i)] || cut[static_cast<std::size_t>(i)]) continue;
    for (const auto& in : g.node(i).inputs) to_y[static_cast<std::size_t>(in.node)] = 1;
  }
  auto on_path = [&](std::int32_t i) {
    return from_wrt[static_cast<std::size_t>(i)] && to_y[static_cast<std::size_t>(i)];
  };

  std::map<Key, std::vector<Value>> parts;
  for (std::size_t j = 0; j < ys.size(); ++j) parts[{ys[j].node, ys[j].index}].push_back(seeds[j]);

  for (std::int32_t id = top; id >= 0; --id) {
    if (!on_path(id)) continue;
    const Node& node = g.node(id);
    if (node.kind != NodeKind::op || cut[static_cast<std::size_t>(id)]) continue;
    PullbackContext ctx{g, node, node.inputs, {}, {}, {}, {}, partial_derivatives};
    bool any = false;
    for (std::size_t k = 0; k < node.outputs.size(); ++k) {
      Value out{&g, id, static_cast<std::int32_t>(k)};
      ctx.outputs.push_back(out);
      auto it = parts.find({id, static_cast<std::int32_t>(k)});
      if (it != parts.end()) {
        ctx.grads.push_back(sum_all(it->second));
        ctx.has_grad.push_back(true);
        any = true;
      } else {
        ctx.grads.push_back(Value{});
        ctx.has_grad.push_back(false);
      }
    }
    if (!any) continue;
    for (std::size_t k = 0; k < node.outputs.size(); ++k) {
      if (!ctx.has_grad[k]) ctx.grads[k] = filled_like(ctx.outputs[k], 0.0);
    }
    for (const auto& in : node.inputs) ctx.needs.push_back(on_path(in.node) != 0);

    std::vector<Grad> result;
    if (node.op->pullback) {
      result = node.op->pullback(ctx);
    } else {
      result.assign(node.inputs.size(), Grad::not_implemented("the op declares no pullback"));
    }
    if (result.size() != node.inputs.size()) {
      throw GradientError(fmt::format("pullback of op '{}' at node {} returned {} gradients for {} "
                                      "inputs",
                                      node.op->name, node.label(), result.size(), node.inputs.size()));
    }
    for (std::size_t i = 0; i < result.size(); ++i) {
      if (!ctx.needs[i]) continue;
      const Value& x = node.inputs[i];
      const Grad& gr = result[i];
      switch (gr.kind()) {
        case Grad::Kind::disconnected: break;
        case Grad::Kind::undefined:
        case Grad::Kind::not_implemented:
          throw GradientError(fmt::format(
              "gradient of input {} ({}) of op '{}' at node {} is {}: {}", i, describe(x),
              node.op->name, node.label(),
              gr.kind() == Grad::Kind::undefined ? "undefined" : "not implemented", gr.why()));
        case Grad::Kind::value: {
          const Value& v = gr.value();
          if (v.dtype() != x.dtype() || !shapes_compatible(v.shape(), x.shape())) {
            throw GradientError(fmt::format(
                "pullback of op '{}' at node {} returned {} for input {}, which is {}",
                node.op->name, node.label(), v.type().to_string(), i, x.type().to_string()));
          }
          parts[{x.node, x.index}].push_back(v);
          break;
        }
      }
    }
  }

  std::vector<Value> out;
  for (const auto& w : wrt) {
    auto it = parts.find({w.node, w.index});
    if (it != parts.end()) {
      out.push_back(sum_all(it->second));
    } else if (options.allow_disconnected) {
      out.push_back(is_floating(w.dtype()) ? filled_like(w, 0.0) : w);
    } else {
      throw GradientError(fmt::format("the output does not depend on {} (pass allow_disconnected "
                                      "to get zeros)",
                                      describe(w)));
    }
  }
  return out;
}

std::vector<Value> gradients(Value loss, const std::vector<Value>& wrt,
                             const GradientOptions& options) {
  const Shape& s = loss.shape();
  for (auto d : s.dims()) {
    if (d != 1) {
      throw ShapeError(fmt::format("gradients: the loss {} must be a scalar, got {} (use vjp for "
                                   "other outputs)",
                                   describe(loss), loss.type().to_string()));
    }
  }
  Value seed;
  {
    Graph::GradientScope scope(*loss.graph);
    seed = filled_like(loss, 1.0);
  }
  return vjp({loss}, {seed}, wrt, options);
}

std::vector<Value> hessian_vector_product(Value loss, const std::vector<Value>& params,
                                          const std::vector<Value>& v) {
  if (params.size() != v.size()) {
    throw UsageError(fmt::format("hessian_vector_product: {} parameters but {} directions",
                                 params.size(), v.size()));
  }
  auto g = gradients(loss, params);
  Graph::GradientScope scope(*loss.graph);
  Value inner;
  for (std::size_t i = 0; i < g.size(); ++i) {
    Value term = sum(g[i] * v[i]);
    inner = i == 0 ? term : add(inner, term);
  }
  return gradients(inner, params, GradientOptions{true});
}

Value hessian(Value loss, Value param) {
  const std::int64_t n = param.shape().numel();
  Value g = gradients(loss, {param})[0];
  Graph::GradientScope scope(*loss.graph);
  Value flat = reshape(g, Shape{n});
  std::vector<Value> rows;
  for (std::int64_t i = 0; i < n; ++i) {
    Value gi = element(flat, i);
    Value row = gradients(gi, {param}, GradientOptions{true})[0];
    rows.push_back(reshape(row, Shape{1, n}));
  }
  return rows.size() == 1 ? rows[0] : concat(rows, 0);
}

}  // namespace symgrad
