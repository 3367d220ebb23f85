// compile(): from a graph and its outputs to a Plan (dead-node elimination, merging of identical
// nodes, linear layers and elementwise chains on fusing backends, the schedule, slots and steps,
// in-place updates). Preparing and running the plan is in plan.cpp.

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include <fmt/format.h>

#include "fusion.hpp"
#include "rewrites.hpp"
#include "plan_impl.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/runtime/plan.hpp"
#include "symgrad/runtime/threads.hpp"

namespace symgrad {

using plan_detail::const_key;
using plan_detail::Key;
using plan_detail::Slot;
using plan_detail::SlotKind;
using plan_detail::Step;

Plan compile(Graph& graph, const std::vector<Value>& outputs, const CompileOptions& options) {
  apply_thread_environment();
  auto impl = std::make_unique<Plan::Impl>();
  impl->graph = &graph;
  impl->backend = options.backend;
  std::vector<Value> roots = outputs;
  for (const auto& [name, v] : options.updates) {
    Value var = graph.find_leaf(NodeKind::variable, name);
    if (!var.valid()) throw UsageError(fmt::format("update of unknown variable '{}'", name));
    if (v.graph != &graph || v.type() != var.type()) {
      throw ShapeError(fmt::format("update of variable '{}' ({}) with a value of type {}", name,
                                   var.type().to_string(), v.graph == &graph ? v.type().to_string() : "another graph"));
    }
    roots.push_back(v);
  }
  for (const auto& v : roots) {
    if (v.graph != &graph) throw UsageError("compile: an output belongs to another graph");
  }

  // 1. Dead-node elimination on the graph as built.
  const auto n = graph.size();
  for (std::size_t i = 0; i < n; ++i) {
    const Node& node = graph.node(static_cast<std::int32_t>(i));
    if (node.kind == NodeKind::input) impl->graph_inputs.insert(node.name);
  }
  std::vector<char> live(n, 0);
  for (const auto& v : roots) live[static_cast<std::size_t>(v.node)] = 1;
  for (std::size_t i = n; i-- > 0;) {
    if (!live[i]) continue;
    for (const auto& in : graph.node(static_cast<std::int32_t>(i)).inputs) {
      live[static_cast<std::size_t>(in.node)] = 1;
    }
  }

  // 2. Merging of identical nodes: canonical value of every live value.
  std::map<Key, Key> canon;
  std::map<std::string, std::int32_t> seen;
  std::map<std::int32_t, std::vector<Key>> inputs_of;  // canonical node -> canonical inputs
  for (std::size_t i = 0; i < n; ++i) {
    if (!live[i]) continue;
    const Node& node = graph.node(static_cast<std::int32_t>(i));
    std::vector<Key> ins;
    for (const auto& in : node.inputs) ins.push_back(canon.at({in.node, in.index}));
    std::string key;
    if (options.merge_identical && node.kind == NodeKind::op && node.op->pure) {
      key = node.op->name + "{" + node.attrs.to_string() + "}";
      for (const auto& k : ins) key += fmt::format(",{}.{}", k.first, k.second);
    } else if (options.merge_identical && node.kind == NodeKind::constant) {
      key = "const " + const_key(node.value);
    }
    std::int32_t target = node.id;
    if (!key.empty()) {
      auto [it, inserted] = seen.emplace(key, node.id);
      target = it->second;
    }
    for (std::size_t k = 0; k < node.outputs.size(); ++k) {
      canon[{node.id, static_cast<std::int32_t>(k)}] = {target, static_cast<std::int32_t>(k)};
    }
    if (target == node.id) inputs_of[node.id] = ins;
  }

  // 3. Liveness of canonical nodes.
  std::set<std::int32_t> needed;
  std::vector<std::int32_t> stack;
  for (const auto& v : roots) stack.push_back(canon.at({v.node, v.index}).first);
  while (!stack.empty()) {
    auto id = stack.back();
    stack.pop_back();
    if (!needed.insert(id).second) continue;
    for (const auto& k : inputs_of[id]) stack.push_back(k.first);
  }
  for (auto it = inputs_of.begin(); it != inputs_of.end();) {
    it = needed.count(it->first) ? std::next(it) : inputs_of.erase(it);
  }

  // 4. On fusing backends, matmul or conv2d + bias (+ activation) become one node, and the
  // rewrites of rewrites.hpp apply; then units in execution order: single ops, and fused
  // elementwise chains.
  const bool fuse = options.fusion == CompileOptions::Fusion::on ||
                    (options.fusion == CompileOptions::Fusion::automatic && options.backend != "reference");
  impl->small_on_chain = options.backend != "reference";
  impl->compile_chains = options.compile_chains;
  impl->communicator = options.communicator;
  impl->precision = options.precision;
  std::set<Key> pinned_keys;
  for (const auto& v : roots) pinned_keys.insert(canon.at({v.node, v.index}));
  std::map<std::int32_t, const Node*> replaced;
  auto node_of = [&](std::int32_t id) -> const Node& {
    auto r = replaced.find(id);
    return r != replaced.end() ? *r->second : graph.node(id);
  };
  if (fuse) {
    fusion::form_layers(node_of, needed, inputs_of, pinned_keys, impl->synthetic, replaced);
    std::map<Key, Key> renamed;  // values that became another node's output
    fusion::form_filter_bias(node_of, needed, inputs_of, impl->synthetic, replaced, renamed);
    for (auto& [k, v] : canon) {
      if (auto r = renamed.find(v); r != renamed.end()) v = r->second;
    }
    for (const auto& [from, to] : renamed) {
      if (pinned_keys.erase(from)) pinned_keys.insert(to);
    }
    rewrites::relu_before_max_pool_backward(node_of, needed, inputs_of, pinned_keys, impl->synthetic, replaced);
  }
  impl->inputs_of = inputs_of;
  const auto units = fusion::schedule(node_of, needed, inputs_of, fuse);
  std::map<Key, std::set<std::int32_t>> consumers;
  for (const auto& [id, ins] : inputs_of) {
    for (const auto& k : ins) consumers[k].insert(id);
  }

  // 5. Slots (leaves first, then the values each unit makes visible) and steps.
  auto& slots = impl->slots;
  auto slot_for = [&](Key k) { return impl->slot_of.at(k); };
  auto add_slot = [&](const Node& node, std::int32_t k) {
    Slot sl;
    sl.value = {node.id, k};
    sl.declared = sl.type = node.outputs[static_cast<std::size_t>(k)];
    sl.name = node.name;
    sl.kind = node.kind == NodeKind::input      ? SlotKind::input
              : node.kind == NodeKind::variable ? SlotKind::variable
              : node.kind == NodeKind::constant ? SlotKind::constant
                                                : SlotKind::buffer;
    impl->slot_of[sl.value] = static_cast<int>(slots.size());
    slots.push_back(sl);
    return static_cast<int>(slots.size()) - 1;
  };
  for (std::int32_t id : needed) {
    const Node& node = node_of(id);
    if (node.kind != NodeKind::op) add_slot(node, 0);
  }
  for (const auto& unit : units) {
    Step st;
    if (unit.size() > 1) {
      const std::set<std::int32_t> members(unit.begin(), unit.end());
      for (std::int32_t id : unit) {
        st.chain.push_back(&node_of(id));
        for (const auto& k : inputs_of[id]) {
          if (!members.count(k.first) &&
              std::find(st.in_keys.begin(), st.in_keys.end(), k) == st.in_keys.end()) {
            st.in_keys.push_back(k);
          }
        }
        const Key out{id, 0};
        bool visible = pinned_keys.count(out) > 0;
        for (std::int32_t c : consumers[out]) visible = visible || !members.count(c);
        if (visible) st.out_keys.push_back(out);
      }
      st.node = st.chain.back();
      st.kernel_backend = "fused";
      for (const auto& k : st.out_keys) st.outs.push_back(add_slot(node_of(k.first), k.second));
    } else {
      const Node& node = node_of(unit[0]);
      st.node = &node;
      const KernelRegistry& kernels = KernelRegistry::global();
      st.factory = kernels.factory(node.op->name, options.backend);
      for (const std::string& b : {options.backend, options.fallback}) {
        if (const KernelFn* k = b.empty() ? nullptr : kernels.kernel(node.op->name, b)) {
          st.kernel = k;
          st.kernel_backend = b;
          break;
        }
      }
      if (st.factory == nullptr && st.kernel == nullptr) {
        throw UsageError(fmt::format("op '{}' (node {}) has no kernel for backend '{}'{}",
                                     node.op->name, node.label(), options.backend,
                                     options.fallback.empty() ? "" : fmt::format(" nor '{}'", options.fallback)));
      }
      st.in_keys = inputs_of[node.id];
      for (std::size_t k = 0; k < node.outputs.size(); ++k) {
        st.out_keys.push_back({node.id, static_cast<std::int32_t>(k)});
        st.outs.push_back(add_slot(node, static_cast<std::int32_t>(k)));
      }
    }
    for (const auto& k : st.in_keys) st.ins.push_back(slot_for(k));
    for (std::size_t k = 0; k < st.outs.size(); ++k) {
      slots[static_cast<std::size_t>(st.outs[k])].producer = static_cast<int>(impl->steps.size());
      slots[static_cast<std::size_t>(st.outs[k])].producer_output = static_cast<int>(k);
    }
    st.in_tensors.resize(st.ins.size());
    st.out_tensors.resize(st.outs.size());
    impl->steps.push_back(std::move(st));
  }
  for (std::size_t i = 0; i < impl->steps.size(); ++i) {
    for (int s : impl->steps[i].ins) slots[static_cast<std::size_t>(s)].last_use = static_cast<int>(i);
  }
  for (const auto& v : outputs) {
    int s = slot_for(canon.at({v.node, v.index}));
    slots[static_cast<std::size_t>(s)].pinned = true;
    impl->outputs.push_back(s);
  }
  for (const auto& [name, v] : options.updates) {
    int s = slot_for(canon.at({v.node, v.index}));
    slots[static_cast<std::size_t>(s)].pinned = true;
    impl->updates.emplace_back(name, s);
  }
  // In-place updates: a new value of a variable is written straight into the variable's storage
  // when nothing reads the old value afterwards, the value is no output and no other update's,
  // and its step either does not read the variable or is a fused chain (which reads a whole block
  // before writing it).
  std::map<int, int> update_count;
  for (const auto& [name, s] : impl->updates) ++update_count[s];
  for (const auto& [name, s] : impl->updates) {
    Slot& sl = slots[static_cast<std::size_t>(s)];
    if (sl.kind != SlotKind::buffer || update_count[s] > 1 ||
        std::count(impl->outputs.begin(), impl->outputs.end(), s) > 0) {
      continue;
    }
    const Step& producer = impl->steps[static_cast<std::size_t>(sl.producer)];
    const Value var = graph.find_leaf(NodeKind::variable, name);
    auto vs = impl->slot_of.find(canon.count({var.node, 0}) ? canon.at({var.node, 0}) : Key{var.node, 0});
    if (vs != impl->slot_of.end()) {
      const Slot& old = slots[static_cast<std::size_t>(vs->second)];
      const bool reads = std::count(producer.ins.begin(), producer.ins.end(), vs->second) > 0;
      if (old.last_use > sl.producer || (reads && producer.chain.empty()) ||
          std::count(impl->outputs.begin(), impl->outputs.end(), vs->second) > 0) {
        continue;
      }
    }
    sl.in_place = name;
  }
  impl->values.resize(slots.size());
  for (auto& s : slots) {
    if (s.kind == SlotKind::constant) {
      impl->values[static_cast<std::size_t>(&s - slots.data())] = graph.node(s.value.first).value;
    }
  }
  // Plan the buffers now when every shape is static, so peak_bytes() is known before a run.
  bool all_static = true;
  for (const auto& s : slots) all_static = all_static && s.declared.shape.is_static();
  if (all_static) {
    std::vector<Shape> shapes;
    for (const auto& s : slots) {
      if (s.kind == SlotKind::input) shapes.push_back(s.declared.shape);
    }
    impl->prepare(shapes);
  }
  return Plan(std::move(impl));
}

}  // namespace symgrad
