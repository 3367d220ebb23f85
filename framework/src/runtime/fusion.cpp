// Fusion decisions of the compiler: which nodes may join an elementwise chain, the chains and
// linear layers it forms, and the schedule of the resulting units. The chain kernel itself is in
// chain_kernel.cpp.

#include "fusion.hpp"

#include <algorithm>
#include <queue>

#include "symgrad/core/error.hpp"
#include "symgrad/graph/op_registry.hpp"

namespace symgrad::fusion {
namespace {

// `in` is the output shape, a static scalar, or a static trailing part of the output shape.
bool fits_chain(const Shape& in, const Shape& out) {
  if (in == out) return true;
  if (!in.is_static()) return false;
  if (in.numel() == 1) return true;
  std::size_t lead = 0;
  while (lead < in.rank() && in[lead] == 1) ++lead;
  const std::size_t n = in.rank() - lead;
  if (n > out.rank()) return false;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t o = out[out.rank() - n + i];
    if (o == Shape::kOpen || o != in[lead + i]) return false;
  }
  return true;
}


}  // namespace

bool fusible(const Node& node) {
  if (node.kind != NodeKind::op || node.outputs.size() != 1) return false;
  if (!chain_supports(node.op->name) && !runs_formula(*node.op)) return false;
  const TensorType& out = node.outputs[0];
  if (!is_floating(out.dtype)) return false;
  for (const auto& v : node.inputs) {
    if (v.dtype() != out.dtype || !fits_chain(v.shape(), out.shape)) return false;
  }
  return true;
}

void form_layers(const NodeOf& node_of, std::set<std::int32_t>& needed,
                 std::map<std::int32_t, std::vector<Key>>& inputs_of, const std::set<Key>& keep,
                 std::deque<Node>& storage, std::map<std::int32_t, const Node*>& replaced) {
  std::map<std::int32_t, std::vector<std::int32_t>> users;
  for (const auto& [id, ins] : inputs_of) {
    for (const auto& k : ins) users[k.first].push_back(id);
  }
  auto only_user = [&](std::int32_t id) -> std::int32_t {
    const auto& u = users[id];
    return u.size() == 1 && !keep.count({id, 0}) ? u[0] : -1;
  };
  const OpDef& linear = OpRegistry::global().get("linear");
  const OpDef& conv_bias = OpRegistry::global().get("conv2d_bias");
  // The fused op for a matmul or conv2d node whose add takes `bias`, or null.
  auto fused_op = [&](const Node& mm, const Shape& bias) -> const OpDef* {
    // the op's name first: a node already fused (a layer feeding this add, e.g. a residual or
    // noise on a layer's output) lives in `storage` with its inputs in inputs_of, not in Node::inputs
    if (mm.kind != NodeKind::op || (mm.op->name != "matmul" && mm.op->name != "conv2d")) return nullptr;
    if (mm.outputs[0].dtype != mm.inputs[0].dtype()) return nullptr;
    if (mm.op->name == "matmul") {
      const Shape& w = mm.inputs[1].shape();
      const bool plain = !mm.attrs.get_int("transpose_a", 0) && !mm.attrs.get_int("transpose_b", 0);
      const bool fits = mm.outputs[0].shape.rank() == 2 && mm.inputs[0].shape().rank() == 2 && w.rank() == 2 &&
                        w[1] != Shape::kOpen && bias == Shape{w[1]};
      return plain && fits ? &linear : nullptr;
    }
    if (mm.op->name == "conv2d") {
      const std::int64_t o = mm.outputs[0].shape[1];
      const bool fits = o != Shape::kOpen && (bias == Shape{1, o, 1, 1} || bias == Shape{o, 1, 1});
      return fits ? &conv_bias : nullptr;
    }
    return nullptr;
  };
  for (std::int32_t add_id : std::vector<std::int32_t>(needed.begin(), needed.end())) {
    const Node& add = node_of(add_id);
    if (add.kind != NodeKind::op || add.op->name != "add" || !needed.count(add_id)) continue;
    const auto& ins = inputs_of.at(add_id);
    for (int side = 0; side < 2; ++side) {
      const Key mk = ins[static_cast<std::size_t>(side)], bk = ins[static_cast<std::size_t>(1 - side)];
      const Node& mm = node_of(mk.first);
      const Shape& bias = node_of(bk.first).outputs[static_cast<std::size_t>(bk.second)].shape;
      const OpDef* op = fused_op(mm, bias);
      if (op == nullptr || only_user(mm.id) != add_id) continue;
      // the activation, when it is the add's only use
      std::int32_t last = add_id;
      std::string act = "none";
      if (const std::int32_t u = only_user(add_id); u >= 0) {
        const Node& e = node_of(u);
        if (e.kind == NodeKind::op && (e.op->name == "relu" || e.op->name == "tanh" || e.op->name == "sigmoid")) {
          last = u;
          act = e.op->name;
        }
      }
      const Node& final_node = node_of(last);
      Node& n = storage.emplace_back();
      n.id = last;
      n.kind = NodeKind::op;
      n.op = op;
      n.attrs = op == &linear ? Attrs{} : mm.attrs;  // conv2d_bias keeps stride and padding
      n.attrs.set("activation", act);
      n.outputs = final_node.outputs;
      n.name = final_node.name;
      n.gradient = final_node.gradient;
      const auto& mm_ins = inputs_of.at(mm.id);
      inputs_of[last] = {mm_ins[0], mm_ins[1], bk};
      for (std::int32_t gone : {mm.id, add_id}) {
        if (gone == last) continue;
        needed.erase(gone);
        inputs_of.erase(gone);
      }
      replaced[last] = &n;
      break;
    }
  }
}

void form_filter_bias(const NodeOf& node_of, std::set<std::int32_t>& needed,
                      std::map<std::int32_t, std::vector<Key>>& inputs_of, std::deque<Node>& storage,
                      std::map<std::int32_t, const Node*>& replaced, std::map<Key, Key>& renamed) {
  const OpDef& fused = OpRegistry::global().get("conv2d_backward_filter_bias");
  std::map<Key, std::vector<std::int32_t>> sums;  // g -> the sum_to_like nodes of g
  for (std::int32_t id : needed) {
    const Node& n = node_of(id);
    if (n.kind == NodeKind::op && n.op->name == "sum_to_like") sums[inputs_of.at(id)[0]].push_back(id);
  }
  for (std::int32_t id : std::vector<std::int32_t>(needed.begin(), needed.end())) {
    const Node& f = node_of(id);
    if (f.kind != NodeKind::op || f.op->name != "conv2d_backward_filter") continue;
    const auto ins = inputs_of.at(id);  // x, g, like_w
    auto candidates = sums.find(ins[1]);
    if (candidates == sums.end()) continue;
    const std::int64_t o = f.outputs[0].shape[0];
    for (std::int32_t sid : candidates->second) {
      if (!needed.count(sid)) continue;
      const Node& s = node_of(sid);
      const Key like_b = inputs_of.at(sid)[1];
      const Shape& b = s.outputs[0].shape;
      const bool bias = o != Shape::kOpen && (b == Shape{1, o, 1, 1} || b == Shape{o, 1, 1} || b == Shape{o});
      // no cycle: the fused node reads nothing made after either node (ids are topological)
      if (!bias || s.outputs[0].dtype != f.outputs[0].dtype || ins[0].first >= sid || like_b.first >= id) continue;
      Node& n = storage.emplace_back();
      n.id = id;
      n.kind = NodeKind::op;
      n.op = &fused;
      n.attrs = f.attrs;
      n.outputs = {f.outputs[0], s.outputs[0]};
      n.name = f.name;
      n.gradient = f.gradient;
      inputs_of[id] = {ins[0], ins[1], ins[2], like_b};
      const Key from{sid, 0}, to{id, 1};
      needed.erase(sid);
      inputs_of.erase(sid);
      for (auto& [user, keys] : inputs_of) std::replace(keys.begin(), keys.end(), from, to);
      renamed[from] = to;
      replaced[id] = &n;
      break;
    }
  }
}

std::vector<std::vector<std::int32_t>> schedule(const NodeOf& node_of, const std::set<std::int32_t>& needed,
                                                const std::map<std::int32_t, std::vector<Key>>& inputs_of,
                                                bool fuse) {
  // 1. Chains, formed consumers first (decreasing id): a fusible node joins the chain of its
  // consumers when all of them are in that one chain (and the types agree). No cycle can form:
  // every path out of the node leads into the chain, and the chain's nodes all come later.
  std::map<std::int32_t, std::vector<std::int32_t>> consumers;
  for (const auto& [id, ins] : inputs_of) {
    for (const auto& k : ins) consumers[k.first].push_back(id);
  }
  std::map<std::int32_t, int> chain_of;
  std::vector<std::vector<std::int32_t>> chains;
  for (auto it = needed.rbegin(); it != needed.rend(); ++it) {
    const std::int32_t id = *it;
    const Node& node = node_of(id);
    if (!fuse || !fusible(node)) continue;
    int join = -1;
    const auto& users = consumers[id];
    if (!users.empty()) {
      auto first = chain_of.find(users.front());
      if (first != chain_of.end() && node_of(users.front()).outputs[0] == node.outputs[0]) {
        join = first->second;
        for (std::int32_t u : users) {
          auto c = chain_of.find(u);
          if (c == chain_of.end() || c->second != join) join = -1;
        }
      }
    }
    if (join < 0) {
      join = static_cast<int>(chains.size());
      chains.emplace_back();
    }
    chains[static_cast<std::size_t>(join)].push_back(id);
    chain_of[id] = join;
  }
  for (auto& c : chains) std::reverse(c.begin(), c.end());  // members in topological order
  // 2. Units: chains of two or more nodes, and every other needed op node alone.
  std::vector<std::vector<std::int32_t>> units;
  std::map<std::int32_t, std::size_t> unit_of;
  std::vector<char> chain_emitted(chains.size(), 0);
  for (std::int32_t id : needed) {
    if (node_of(id).kind != NodeKind::op) continue;
    auto c = chain_of.find(id);
    if (c != chain_of.end() && chains[static_cast<std::size_t>(c->second)].size() > 1) {
      if (chain_emitted[static_cast<std::size_t>(c->second)]) {
        unit_of[id] = unit_of[chains[static_cast<std::size_t>(c->second)].front()];
        continue;
      }
      chain_emitted[static_cast<std::size_t>(c->second)] = 1;
      unit_of[id] = units.size();
      units.push_back(chains[static_cast<std::size_t>(c->second)]);
    } else {
      unit_of[id] = units.size();
      units.push_back({id});
    }
  }
  // 3. Kahn's algorithm over units, earliest first node first.
  std::vector<std::set<std::size_t>> next(units.size());
  std::vector<int> indegree(units.size(), 0);
  for (std::size_t u = 0; u < units.size(); ++u) {
    for (std::int32_t id : units[u]) {
      for (const auto& k : inputs_of.at(id)) {
        auto p = unit_of.find(k.first);
        if (p == unit_of.end() || p->second == u) continue;
        if (next[p->second].insert(u).second) ++indegree[u];
      }
    }
  }
  using Item = std::pair<std::int32_t, std::size_t>;
  std::priority_queue<Item, std::vector<Item>, std::greater<>> ready;
  for (std::size_t u = 0; u < units.size(); ++u) {
    if (indegree[u] == 0) ready.push({units[u].front(), u});
  }
  std::vector<std::vector<std::int32_t>> order;
  while (!ready.empty()) {
    auto [first, u] = ready.top();
    ready.pop();
    order.push_back(units[u]);
    for (std::size_t v : next[u]) {
      if (--indegree[v] == 0) ready.push({units[v].front(), v});
    }
  }
  if (order.size() != units.size()) throw Error("internal error: fused schedule has a cycle");
  return order;
}

}  // namespace symgrad::fusion
