#include "non_finite.hpp"

#include <cmath>
#include <cstring>
#include <set>

#include <fmt/format.h>

namespace symgrad::trainer_detail {

namespace {

// Exponent bits all set: an infinity or a NaN. Counted without a branch so the loop vectorizes.
template <class Bits>
std::int64_t count_non_finite(const void* data, std::int64_t n, Bits exponent) {
  const auto* p = static_cast<const unsigned char*>(data);
  std::int64_t bad = 0;
#pragma omp parallel for reduction(+ : bad) if (n >= (1 << 18))  // (threads start only for large tensors)
  for (std::int64_t i = 0; i < n; ++i) {
    Bits b;
    std::memcpy(&b, p + static_cast<std::size_t>(i) * sizeof(Bits), sizeof b);
    bad += (b & exponent) == exponent;
  }
  return bad;
}

}  // namespace

bool all_finite(const Tensor& t) {
  switch (t.dtype()) {
    case DType::f32: return count_non_finite<std::uint32_t>(t.raw(), t.numel(), 0x7f800000u) == 0;
    case DType::f64: return count_non_finite<std::uint64_t>(t.raw(), t.numel(), 0x7ff0000000000000ull) == 0;
    default: return true;
  }
}

std::int64_t first_non_finite(const Tensor& t) {
  if (t.dtype() != DType::f32 && t.dtype() != DType::f64) return -1;
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    if (!std::isfinite(t.get(i))) return i;
  }
  return -1;
}

void StepSnapshot::take(const VariableStore& store, const std::vector<std::string>& names) {
  if (saved_.size() != names.size()) {
    saved_.clear();
    for (const auto& n : names) saved_.emplace_back(n, store.get(n).clone());
  }
  for (auto& [name, copy] : saved_) {
    const Tensor& now = store.get(name);
    if (now.type() != copy.type()) copy = now.clone();
    std::memcpy(copy.raw(), now.raw(), now.nbytes());
  }
}

void StepSnapshot::restore(VariableStore& store) const {
  for (const auto& [name, copy] : saved_) {
    Tensor& now = store.get(name);
    if (now.type() == copy.type()) {
      std::memcpy(now.raw(), copy.raw(), copy.nbytes());
    } else {
      store.set(name, copy.clone());
    }
  }
}

std::string describe_first_non_finite(Graph& graph, const std::vector<Value>& roots,
                                      const std::map<std::string, Value>& updates, const std::string& backend,
                                      Precision precision, const Feeds& feeds, VariableStore& store) {
  // the op nodes the roots and updates depend on, in the graph's (topological) order
  std::set<std::int32_t> needed;
  std::vector<std::int32_t> stack;
  for (const Value& v : roots) stack.push_back(v.node);
  std::map<std::int32_t, std::string> updates_of;
  for (const auto& [name, v] : updates) {
    stack.push_back(v.node);
    updates_of[v.node] = name;
  }
  while (!stack.empty()) {
    const std::int32_t id = stack.back();
    stack.pop_back();
    if (!needed.insert(id).second) continue;
    for (const Value& in : graph.node(id).inputs) stack.push_back(in.node);
  }
  // a leaf that holds one already: a variable (a parameter gone bad before this step), a feed
  for (std::int32_t id : needed) {
    const Node& n = graph.node(id);
    const Tensor* t = nullptr;
    if (n.kind == NodeKind::variable && store.has(n.name)) t = &store.get(n.name);
    if (n.kind == NodeKind::input && feeds.count(n.name)) t = &feeds.at(n.name);
    if (t == nullptr) continue;
    if (const std::int64_t at = first_non_finite(*t); at >= 0) {
      return fmt::format("the first non-finite value is node {} {}, before the step: element {} is {}", n.label(),
                         t->type().to_string(), at, t->get(at));
    }
  }
  std::vector<Value> outputs;
  for (std::int32_t id : needed) {
    const Node& n = graph.node(id);
    if (n.kind != NodeKind::op) continue;
    for (std::size_t i = 0; i < n.outputs.size(); ++i) outputs.push_back(graph.value(id, static_cast<std::int32_t>(i)));
  }
  CompileOptions co;
  co.backend = backend;
  co.precision = precision;
  co.merge_identical = false;
  co.fusion = CompileOptions::Fusion::off;
  Plan plan = compile(graph, outputs, co);
  const std::vector<Tensor>& values = plan.run(feeds, &store);
  for (std::size_t k = 0; k < outputs.size(); ++k) {
    const std::int64_t at = first_non_finite(values[k]);
    if (at < 0) continue;
    const Node& n = graph.node(outputs[k].node);
    std::string what = n.gradient ? "in the gradient computation" : "in the forward pass";
    if (auto u = updates_of.find(n.id); u != updates_of.end()) what = fmt::format("the new value of '{}'", u->second);
    std::string inputs;
    for (const Value& in : n.inputs) {
      inputs += fmt::format("{}{} {}", inputs.empty() ? "" : ", ", graph.node(in.node).label(), in.type().to_string());
    }
    return fmt::format("the first non-finite value is node {} {} ({}): element {} is {} (inputs: {})", n.label(),
                       outputs[k].type().to_string(), what, at, values[k].get(at), inputs.empty() ? "none" : inputs);
  }
  return "";
}

}  // namespace symgrad::trainer_detail
