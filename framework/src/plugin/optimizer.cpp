#include "symgrad/plugin/optimizer.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/ops/ops.hpp"
#include "symgrad/plugin/registry.hpp"

namespace symgrad {

namespace {

constexpr const char* kLr = "optimizer/lr";
constexpr const char* kStep = "optimizer/step";

// The graph's variable `name` of type `type`, made if absent.
Value variable_of(Graph& g, const std::string& name, const TensorType& type) {
  Value v = g.find_leaf(NodeKind::variable, name);
  if (!v.valid()) return g.variable(name, type);
  if (v.type() != type) {
    throw UsageError(fmt::format("variable '{}' is {} in the graph, needed as {}", name, v.type().to_string(),
                                 type.to_string()));
  }
  return v;
}

// The variable `name` of `type` for a slot or scalar state: made in the graph if absent, and first
// filled with `init` in the store unless the store has it (from a checkpoint) with that type;
// `what` and `needed` name both in the error of another type ("slot", "the parameter is").
Value declare(Graph& g, VariableStore& store, const std::string& name, const TensorType& type, double init,
              const char* what, const char* needed) {
  Value v = variable_of(g, name, type);
  if (!store.has(name)) {
    Tensor t(type);
    t.fill(init);
    store.set(name, t);
  } else if (store.get(name).type() != type) {
    throw UsageError(fmt::format("{} '{}' in the store is {}, {} {}", what, name, store.get(name).type().to_string(),
                                 needed, type.to_string()));
  }
  return v;
}

}  // namespace

OptimizerContext::OptimizerContext(Graph& graph, std::string optimizer, VariableStore& store, DType dtype,
                                   const std::string& lr_variable, std::string state_prefix)
    : graph_(&graph), optimizer_(std::move(optimizer)), store_(&store), dtype_(dtype),
      state_prefix_(state_prefix.empty() ? "optimizer/" + optimizer_ : std::move(state_prefix)) {
  const TensorType scalar{dtype, Shape{}};
  lr_ = variable_of(graph, lr_variable, scalar);
  step_ = variable_of(graph, kStep, TensorType{DType::f64, Shape{}});  // counted exactly (to 2^53) in any precision
}

Value OptimizerContext::step() const { return dtype_ == DType::f64 ? step_ + 1.0 : cast(step_ + 1.0, dtype_); }

Value OptimizerContext::slot(const ParamGrad& p, const std::string& slot, double init) {
  const std::string name = fmt::format("{}/{}/{}", p.name, optimizer_, slot);
  auto it = slot_values_.find(name);
  if (it != slot_values_.end()) return it->second;
  Value v = declare(*graph_, *store_, name, p.param.type(), init, "slot", "the parameter is");
  slot_values_[name] = v;
  slot_names_.push_back(name);
  return v;
}

void OptimizerContext::set_slot(const ParamGrad& p, const std::string& slot, Value next) {
  const std::string name = fmt::format("{}/{}/{}", p.name, optimizer_, slot);
  if (!slot_values_.count(name)) {
    throw UsageError(fmt::format("optimizer '{}' sets slot '{}' before reading it with slot()", optimizer_, name));
  }
  add_update(name, next);
}

Value OptimizerContext::state(const std::string& name, double init) {
  const std::string full = state_prefix_ + "/" + name;
  if (auto it = slot_values_.find(full); it != slot_values_.end()) return it->second;
  Value v = declare(*graph_, *store_, full, {dtype_, Shape{}}, init, "optimizer state", "the parameters are");
  slot_values_[full] = v;
  slot_names_.push_back(full);
  return v;
}

void OptimizerContext::set_state(const std::string& name, Value next) {
  const std::string full = state_prefix_ + "/" + name;
  if (!slot_values_.count(full)) {
    throw UsageError(fmt::format("optimizer '{}' sets its state '{}' before reading it with state()", optimizer_, full));
  }
  if (next.valid() && next.type() != TensorType{dtype_, Shape{}}) {
    throw UsageError(fmt::format("optimizer '{}': the new value of its state '{}' is {}, the state a scalar of {}",
                                 optimizer_, full, next.type().to_string(), to_string(dtype_)));
  }
  add_update(full, next);
}

void UpdateRule::begin_step(OptimizerContext&) {}

void OptimizerContext::add_update(const std::string& variable, Value next) {
  if (!next.valid() || next.graph != graph_) {
    throw UsageError(fmt::format("optimizer '{}': the new value of '{}' is not a value of the step's graph",
                                 optimizer_, variable));
  }
  for (const auto& [name, v] : updates_) {
    if (name == variable) {
      throw UsageError(fmt::format("optimizer '{}' updates '{}' twice", optimizer_, variable));
    }
  }
  updates_.emplace_back(variable, next);
}

namespace {

// One group of parameters: its optimizer (made for the group's settings), its learning-rate
// variable and which parameters it updates.
struct Member {
  UpdateRule* rule;
  double lr;
  std::string lr_name;
  std::vector<std::size_t> params;
  std::string state_prefix;  // empty: "optimizer/<name>"
};

OptimizerStep build_groups(const std::vector<Member>& members, const std::string& name, Graph& graph,
                           const std::vector<Value>& params, const std::vector<Value>& grads, VariableStore& store) {
  if (params.size() != grads.size()) {
    throw UsageError(fmt::format("optimizer '{}': {} parameters but {} gradients", name, params.size(), grads.size()));
  }
  if (params.empty()) throw UsageError(fmt::format("optimizer '{}': no parameters to update", name));
  const DType dtype = params[0].dtype();
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Node& n = params[i].producer();
    if (n.kind != NodeKind::variable) {
      throw UsageError(fmt::format("optimizer '{}': parameter {} is node {}, not a variable", name, i, n.label()));
    }
    if (!is_floating(params[i].dtype()) || params[i].dtype() != dtype) {
      throw UsageError(fmt::format("optimizer '{}': parameters must share one floating dtype; '{}' is {}, '{}' is {}",
                                   name, params[0].producer().name, to_string(dtype), n.name,
                                   to_string(params[i].dtype())));
    }
    if (grads[i].type() != params[i].type()) {
      throw UsageError(fmt::format("optimizer '{}': the gradient of '{}' is {}, the parameter {}", name, n.name,
                                   grads[i].type().to_string(), params[i].type().to_string()));
    }
  }
  // Variables this call adds to the store are taken out again if it fails: nothing half-made.
  const std::vector<std::string> before = store.names();
  try {
    OptimizerStep out;
    std::set<std::string> lrs;
    for (const Member& m : members) {
      if (m.params.empty()) continue;
      OptimizerContext ctx(graph, name, store, dtype, m.lr_name, m.state_prefix);
      if (!store.has(m.lr_name)) store.set(m.lr_name, Tensor::scalar(dtype, m.lr));
      if (lrs.insert(m.lr_name).second) out.learning_rates.emplace_back(m.lr_name, m.lr);
      m.rule->begin_step(ctx);
      for (std::size_t i : m.params) {
        const ParamGrad p{params[i].producer().name, params[i], grads[i]};
        Value next = m.rule->update(ctx, p);
        if (!next.valid() || next.type() != p.param.type()) {
          throw UsageError(fmt::format("optimizer '{}' returned {} as the new value of '{}' ({})", name,
                                       next.valid() ? next.type().to_string() : "nothing", p.name,
                                       p.param.type().to_string()));
        }
        ctx.add_update(p.name, next);
      }
      out.updates.insert(ctx.updates().begin(), ctx.updates().end());
      out.slots.insert(out.slots.end(), ctx.slots().begin(), ctx.slots().end());
    }
    if (!store.has(kStep)) store.set(kStep, Tensor::scalar(DType::f64, 0.0));
    Value step = variable_of(graph, kStep, TensorType{DType::f64, Shape{}});
    out.updates[kStep] = step + 1.0;
    return out;
  } catch (...) {
    for (const auto& n : store.names()) {
      if (!std::binary_search(before.begin(), before.end(), n)) store.erase(n);
    }
    throw;
  }
}

// Glob match with '*' (any run of characters) and '?' (one character).
bool glob(const char* p, const char* s) {
  if (*p == '\0') return *s == '\0';
  if (*p == '*') return glob(p + 1, s) || (*s != '\0' && glob(p, s + 1));
  return *s != '\0' && (*p == '?' || *p == *s) && glob(p + 1, s + 1);
}

}  // namespace

bool name_matches(const std::string& pattern, const std::string& name) { return glob(pattern.c_str(), name.c_str()); }

OptimizerStep build_optimizer_step(UpdateRule& rule, const std::string& name, double lr, Graph& graph,
                                   const std::vector<Value>& params, const std::vector<Value>& grads,
                                   VariableStore& store) {
  std::vector<std::size_t> all(params.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  return build_groups({Member{&rule, lr, kLr, all, ""}}, name, graph, params, grads, store);
}

OptimizerStep build_optimizer_step(const std::string& name, const Settings& settings,
                                   const std::vector<ParamGroup>& groups, Graph& graph,
                                   const std::vector<Value>& params, const std::vector<Value>& grads,
                                   VariableStore& store) {
  auto& registry = PluginRegistry::global();
  std::vector<std::unique_ptr<UpdateRule>> made;
  std::vector<Member> members;
  made.push_back(registry.make_update_rule(name, settings));
  members.push_back({made.back().get(), registry.learning_rate(name, settings), kLr, {}, ""});
  for (std::size_t g = 0; g < groups.size(); ++g) {
    Settings merged = settings;
    for (const auto& [k, v] : groups[g].settings) merged.insert_or_assign(k, v);
    made.push_back(registry.make_update_rule(name, merged));
    // a group that sets its own learning rate gets its own variable; the others share the main one
    const std::string lr = groups[g].settings.count("lr") ? fmt::format("{}/{}", kLr, g) : kLr;
    members.push_back({made.back().get(), registry.learning_rate(name, merged), lr, {},
                       fmt::format("optimizer/{}/group{}", name, g)});
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    const std::string& pname = params[i].producer().name;
    std::size_t m = 0;
    for (std::size_t g = 0; g < groups.size() && m == 0; ++g) {
      if (name_matches(groups[g].pattern, pname)) m = g + 1;
    }
    members[m].params.push_back(i);
  }
  return build_groups(members, name, graph, params, grads, store);
}

void set_learning_rate(VariableStore& store, double lr) {
  Tensor& t = store.get(kLr);
  t.set(0, lr);
}

}  // namespace symgrad
