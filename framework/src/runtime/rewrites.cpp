// The compiler's rewrites (rewrites.hpp).

#include "rewrites.hpp"

#include "symgrad/graph/op_registry.hpp"

namespace symgrad::rewrites {

int relu_before_max_pool_backward(const NodeOf& node_of, const std::set<std::int32_t>& needed,
                                  std::map<std::int32_t, std::vector<Key>>& inputs_of, const std::set<Key>& keep,
                                  std::deque<Node>& storage, std::map<std::int32_t, const Node*>& replaced) {
  std::map<Key, std::vector<std::int32_t>> readers;
  for (const auto& [id, ins] : inputs_of) {
    for (const auto& k : ins) readers[k].push_back(id);
  }
  auto is = [&](std::int32_t id, const char* op) {
    const Node& n = node_of(id);
    return n.kind == NodeKind::op && n.op->name == op;
  };
  const OpDef& relu_backward = OpRegistry::global().get("relu_backward");
  int rewritten = 0;
  for (const std::int32_t r : needed) {
    if (!is(r, "relu_backward")) continue;
    const Key g_full = inputs_of.at(r)[0], y = inputs_of.at(r)[1];
    const std::int32_t m = g_full.first;
    // g_full = max_pool2d_backward(y, g), read by this relu_backward alone and not kept
    if (g_full.second != 0 || !is(m, "max_pool2d_backward") || inputs_of.at(m)[0] != y || keep.count(g_full) ||
        readers[g_full].size() != 1) {
      continue;
    }
    const Node& pool_backward = node_of(m);
    const Key g = inputs_of.at(m)[1];
    // p = max_pool2d(y) over the same windows, already computed
    std::int32_t p = -1;
    for (const std::int32_t u : readers[y]) {
      // (ids are topological: the mask, at the pooling backward's id, must come after p)
      if (u < m && is(u, "max_pool2d") && node_of(u).attrs.to_string() == pool_backward.attrs.to_string()) p = u;
    }
    if (p < 0 || !(node_of(p).outputs[0] == node_of(g.first).outputs[static_cast<std::size_t>(g.second)])) continue;
    const Node& old = node_of(r);
    Node& mask = storage.emplace_back();  // relu_backward(g, p), in the pooling backward's place
    mask.id = m;
    mask.kind = NodeKind::op;
    mask.op = &relu_backward;
    mask.outputs = node_of(p).outputs;
    mask.name = old.name;
    mask.gradient = true;
    Node& route = storage.emplace_back();  // max_pool2d_backward(y, mask), in the relu_backward's place
    route.id = r;
    route.kind = NodeKind::op;
    route.op = pool_backward.op;
    route.attrs = pool_backward.attrs;
    route.outputs = old.outputs;
    route.name = pool_backward.name;
    route.gradient = true;
    inputs_of[m] = {g, {p, 0}};
    inputs_of[r] = {y, {m, 0}};
    replaced[m] = &mask;
    replaced[r] = &route;
    ++rewritten;
  }
  return rewritten;
}

}  // namespace symgrad::rewrites
