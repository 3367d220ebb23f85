#include "symgrad/runtime/plan.hpp"

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <set>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "fusion.hpp"
#include "symgrad/graph/op_def.hpp"
#include "symgrad/runtime/threads.hpp"

namespace symgrad {
namespace {

using Key = std::pair<std::int32_t, std::int32_t>;  // (node, output)

enum class SlotKind { input, variable, constant, buffer };

struct Slot {
  SlotKind kind = SlotKind::buffer;
  Key value;
  std::string name;           // inputs and variables
  TensorType declared;        // type in the graph (may have open dims)
  TensorType type;            // concrete type for the current shapes
  int last_use = -1;          // last step reading it
  bool pinned = false;        // an output or an update: lives to the end
  int buffer = -1;            // buffer slots: index into the plan's buffers
  std::string in_place;       // written straight into this variable's storage (an update)
  int producer = -1, producer_output = -1;  // the step (and its output) that writes it
};

struct Step {
  const Node* node = nullptr;              // the op node, or the last node of a fused chain
  std::vector<const Node*> chain;          // the nodes of a fused elementwise chain, in order
  std::vector<Key> in_keys, out_keys;      // the values the step reads and writes
  std::map<Key, TensorType> chain_types;   // concrete types of a chain's values
  const KernelFactory* factory = nullptr;  // the backend's prepared kernels, if it has them
  const KernelFn* kernel = nullptr;        // a stateless kernel (the backend's or the fallback's)
  std::string kernel_backend;              // whose stateless kernel that is
  PreparedKernel* prepared = nullptr;      // for the current shapes; null: run `kernel`
  bool view = false;  // for the current shapes, the output is the input's bytes: nothing to run
  std::vector<int> ins, outs;
  std::vector<Tensor> in_tensors, out_tensors;
};

std::string const_key(const Tensor& t) {
  std::string k = t.type().to_string() + ":";
  k.append(static_cast<const char*>(t.raw()), t.nbytes());
  return k;
}

bool fits(const TensorType& declared, const TensorType& given) {
  if (declared.dtype != given.dtype || declared.shape.rank() != given.shape.rank()) return false;
  for (std::size_t i = 0; i < declared.shape.rank(); ++i) {
    if (declared.shape[i] != Shape::kOpen && declared.shape[i] != given.shape[i]) return false;
  }
  return true;
}

}  // namespace

struct Plan::Impl {
  Graph* graph = nullptr;
  std::string backend;
  std::vector<Slot> slots;
  std::map<Key, int> slot_of;  // canonical value -> slot
  std::vector<Step> steps;
  std::vector<int> outputs;
  std::vector<std::pair<std::string, int>> updates;
  std::set<std::string> graph_inputs;  // every input of the graph: feeds may name unused ones
  std::map<std::int32_t, std::vector<Key>> inputs_of;  // canonical inputs of each needed node
  std::deque<Node> synthetic;  // nodes the compiler formed (linear), owned by the plan
  bool small_on_chain = false;  // small elementwise ops run alone on the chain kernel (not reference)

  // Run-time state.
  std::vector<Tensor> values;  // per slot
  std::vector<std::shared_ptr<std::byte>> buffers;
  std::vector<std::size_t> buffer_capacity;
  std::vector<std::size_t> buffer_need;
  std::vector<Shape> signature;
  bool prepared = false;
  // Prepared kernels per set of input shapes: a batch size seen before reuses its primitives.
  std::map<std::vector<Shape>, std::vector<std::unique_ptr<PreparedKernel>>> kernel_cache;
  std::vector<Tensor> results;
  std::size_t unshared = 0;

  void prepare(const std::vector<Shape>& shapes);
  void infer_types();
  void assign_buffers();
  void prepare_kernels(const std::vector<Shape>& shapes);
  void find_views();
};

// Steps whose output has the bytes of their input for the current shapes (a reshape; a sum over
// or broadcast to nothing) become views: they share the input's buffer and run nothing. Not on
// the reference backend, which runs every op's kernel as the oracle.
void Plan::Impl::find_views() {
  for (auto& st : steps) {
    st.view = false;
    if (backend == "reference" || !st.chain.empty() || st.outs.size() != 1 || st.ins.empty()) continue;
    const std::string& op = st.node->op->name;
    const Slot& in = slots[static_cast<std::size_t>(st.ins[0])];
    const Slot& out = slots[static_cast<std::size_t>(st.outs[0])];
    const bool same_bytes = in.type.dtype == out.type.dtype && in.type.shape.numel() == out.type.shape.numel();
    const bool viewable = op == "reshape" || op == "sum_to_like" || op == "broadcast_like" || op == "broadcast_to";
    st.view = viewable && same_bytes && in.kind == SlotKind::buffer && out.in_place.empty();
  }
}

void Plan::Impl::prepare_kernels(const std::vector<Shape>& shapes) {
  auto [it, fresh] = kernel_cache.try_emplace(shapes);
  auto& kernels = it->second;
  if (fresh) kernels.resize(steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    Step& st = steps[i];
    st.prepared = nullptr;
    if (st.view) continue;
    if (!st.chain.empty()) {
      if (fresh) {
        try {
          kernels[i] = fusion::make_chain_kernel(st.chain, inputs_of, st.in_keys, st.out_keys, st.chain_types);
        } catch (...) {
          kernel_cache.erase(it);
          throw;
        }
      }
      st.prepared = kernels[i].get();
      continue;
    }
    if (fresh && small_on_chain && fusion::fusible(*st.node) &&
        slots[static_cast<std::size_t>(st.outs[0])].type.shape.numel() <= fusion::kSmallElementwise) {
      std::map<Key, TensorType> types;
      for (std::size_t k = 0; k < st.ins.size(); ++k) types[st.in_keys[k]] = slots[static_cast<std::size_t>(st.ins[k])].type;
      types[st.out_keys[0]] = slots[static_cast<std::size_t>(st.outs[0])].type;
      kernels[i] = fusion::make_chain_kernel({st.node}, inputs_of, st.in_keys, st.out_keys, types);
    }
    if (kernels[i]) {
      st.prepared = kernels[i].get();
      continue;
    }
    if (st.factory == nullptr) continue;
    if (fresh) {
      std::vector<TensorType> in, out;
      for (int s : st.ins) in.push_back(slots[static_cast<std::size_t>(s)].type);
      for (int s : st.outs) out.push_back(slots[static_cast<std::size_t>(s)].type);
      try {
        kernels[i] = (*st.factory)(PrepareContext{*st.node, in, out});
      } catch (...) {
        kernel_cache.erase(it);  // never keep a half-prepared set
        throw;
      }
      if (!kernels[i] && st.kernel == nullptr) {
        std::string types;
        for (const auto& t : in) types += fmt::format("{}{}", types.empty() ? "" : ", ", t.to_string());
        throw UsageError(fmt::format("backend '{}' cannot run op '{}' (node {}) on inputs {}, and "
                                     "there is no fallback",
                                     backend, st.node->op->name, st.node->label(), types));
      }
    }
    st.prepared = kernels[i].get();
  }
}

// Concrete types of every slot for the current feed shapes (leaves set by the caller).
void Plan::Impl::infer_types() {
  for (auto& st : steps) {
    if (!st.chain.empty()) {
      st.chain_types.clear();
      for (std::size_t i = 0; i < st.in_keys.size(); ++i) {
        st.chain_types[st.in_keys[i]] = slots[static_cast<std::size_t>(st.ins[i])].type;
      }
      for (const Node* n : st.chain) {
        std::vector<TensorType> in;
        for (const auto& k : inputs_of.at(n->id)) in.push_back(st.chain_types.at(k));
        std::vector<TensorType> out;
        try {
          out = n->op->infer(InferContext{*n->op, n->attrs, in});
        } catch (const ShapeError& e) {
          throw ShapeError(fmt::format("{} (at node {} with the fed shapes)", e.what(), n->label()));
        }
        st.chain_types[{n->id, 0}] = out.at(0);
      }
      for (std::size_t k = 0; k < st.outs.size(); ++k) {
        slots[static_cast<std::size_t>(st.outs[k])].type = st.chain_types.at(st.out_keys[k]);
      }
      continue;
    }
    std::vector<TensorType> in;
    for (int s : st.ins) in.push_back(slots[static_cast<std::size_t>(s)].type);
    std::vector<TensorType> out;
    try {
      out = st.node->op->infer(InferContext{*st.node->op, st.node->attrs, in});
    } catch (const ShapeError& e) {
      throw ShapeError(fmt::format("{} (at node {} with the fed shapes)", e.what(), st.node->label()));
    }
    for (std::size_t k = 0; k < st.outs.size(); ++k) {
      if (!out[k].shape.is_static()) {
        throw ShapeError(fmt::format("node {}: output {} is still open ({}) with the fed shapes",
                                     st.node->label(), k, out[k].to_string()));
      }
      slots[static_cast<std::size_t>(st.outs[k])].type = out[k];
    }
  }
}

// Greedy best-fit assignment of buffer slots to buffers, freeing each at its last use.
void Plan::Impl::assign_buffers() {
  buffer_need.clear();
  std::multimap<std::size_t, int> free;  // capacity need so far -> buffer
  std::vector<int> users;                // live slots on each buffer (views share one)
  unshared = 0;
  auto bytes_of = [](const TensorType& t) {
    return static_cast<std::size_t>(t.shape.numel()) * dtype_size(t.dtype);
  };
  for (std::size_t i = 0; i < steps.size(); ++i) {
    for (int s : steps[i].outs) {
      Slot& sl = slots[static_cast<std::size_t>(s)];
      if (!sl.in_place.empty()) continue;
      if (steps[i].view) {  // the same bytes as the input: share its buffer
        sl.buffer = slots[static_cast<std::size_t>(steps[i].ins[0])].buffer;
        ++users[static_cast<std::size_t>(sl.buffer)];
        continue;
      }
      const std::size_t need = bytes_of(sl.type);
      unshared += need;
      auto it = free.lower_bound(need);
      if (it == free.end() && !free.empty()) it = std::prev(free.end());  // grow the largest
      if (it != free.end()) {
        sl.buffer = it->second;
        free.erase(it);
        buffer_need[static_cast<std::size_t>(sl.buffer)] =
            std::max(buffer_need[static_cast<std::size_t>(sl.buffer)], need);
      } else {
        sl.buffer = static_cast<int>(buffer_need.size());
        buffer_need.push_back(need);
        users.push_back(0);
      }
      ++users[static_cast<std::size_t>(sl.buffer)];
    }
    std::set<int> released;  // a slot read twice by one step dies once
    auto release = [&](int s) {
      const Slot& sl = slots[static_cast<std::size_t>(s)];
      if (sl.kind != SlotKind::buffer || sl.pinned || !sl.in_place.empty() ||
          sl.last_use > static_cast<int>(i) || !released.insert(s).second) {
        return;
      }
      if (--users[static_cast<std::size_t>(sl.buffer)] == 0) {
        free.emplace(buffer_need[static_cast<std::size_t>(sl.buffer)], sl.buffer);
      }
    };
    for (int s : steps[i].ins) release(s);
    for (int s : steps[i].outs) release(s);
  }
  // Allocate only where a buffer is new or too small for these shapes.
  buffers.resize(buffer_need.size());
  buffer_capacity.resize(buffer_need.size(), 0);
  for (std::size_t b = 0; b < buffer_need.size(); ++b) {
    if (buffer_capacity[b] < buffer_need[b] || !buffers[b]) {
      const auto n = static_cast<std::int64_t>((buffer_need[b] + 63) / 64 * 64);
      // A float block owns the aligned storage; the aliasing shared_ptr keeps it alive.
      auto block = std::make_shared<Tensor>(DType::f32, Shape{std::max<std::int64_t>(n / 4, 16)});
      buffers[b] = std::shared_ptr<std::byte>(block, static_cast<std::byte*>(block->raw()));
      buffer_capacity[b] = block->nbytes();
    }
  }
  for (auto& st : steps) {
    for (std::size_t k = 0; k < st.outs.size(); ++k) {
      Slot& sl = slots[static_cast<std::size_t>(st.outs[k])];
      if (!sl.in_place.empty()) continue;  // bound to the variable at every run
      values[static_cast<std::size_t>(st.outs[k])] =
          Tensor::wrap(buffers[static_cast<std::size_t>(sl.buffer)], sl.type);
      st.out_tensors[k] = values[static_cast<std::size_t>(st.outs[k])];
    }
  }
}

void Plan::Impl::prepare(const std::vector<Shape>& shapes) {
  infer_types();
  find_views();
  assign_buffers();
  prepare_kernels(shapes);
  signature = shapes;
  prepared = true;
}

Plan::Plan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;
Plan::~Plan() = default;

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

  // 4. On fusing backends, matmul + bias (+ activation) become linear nodes; then units in
  // execution order: single ops, and fused elementwise chains.
  const bool fuse = options.fusion == CompileOptions::Fusion::on ||
                    (options.fusion == CompileOptions::Fusion::automatic && options.backend != "reference");
  impl->small_on_chain = options.backend != "reference";
  std::set<Key> pinned_keys;
  for (const auto& v : roots) pinned_keys.insert(canon.at({v.node, v.index}));
  std::map<std::int32_t, const Node*> replaced;
  auto node_of = [&](std::int32_t id) -> const Node& {
    auto r = replaced.find(id);
    return r != replaced.end() ? *r->second : graph.node(id);
  };
  if (fuse) fusion::form_linear(node_of, needed, inputs_of, pinned_keys, impl->synthetic, replaced);
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
      if (auto f = node.op->factories.find(options.backend); f != node.op->factories.end()) {
        st.factory = &f->second;
      }
      for (const std::string& b : {options.backend, options.fallback}) {
        auto k = node.op->kernels.find(b);
        if (!b.empty() && k != node.op->kernels.end()) {
          st.kernel = &k->second;
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

const std::vector<Tensor>& Plan::run(const Feeds& feeds, VariableStore* store) {
  Impl& m = *impl_;
  std::vector<Shape> shapes;
  for (std::size_t i = 0; i < m.slots.size(); ++i) {
    Slot& s = m.slots[i];
    if (s.kind == SlotKind::input) {
      auto it = feeds.find(s.name);
      if (it == feeds.end()) {
        throw FeedError(fmt::format("input '{}' ({}) is not fed", s.name, s.declared.to_string()));
      }
      if (!it->second.defined() || !fits(s.declared, it->second.type())) {
        throw FeedError(fmt::format("input '{}' expects {}, got {}", s.name, s.declared.to_string(),
                                    it->second.defined() ? it->second.type().to_string() : "an empty tensor"));
      }
      s.type = it->second.type();
      m.values[i] = it->second;
      shapes.push_back(s.type.shape);
    } else if (s.kind == SlotKind::variable) {
      if (store == nullptr) {
        throw FeedError(fmt::format("the plan reads variable '{}' but no VariableStore was given", s.name));
      }
      const Tensor& t = store->get(s.name);
      if (!t.defined() || t.type() != s.declared) {
        throw FeedError(fmt::format("variable '{}' is declared {} but the store holds {}", s.name,
                                    s.declared.to_string(), t.defined() ? t.type().to_string() : "nothing"));
      }
      m.values[i] = t;
    }
  }
  for (const auto& [name, t] : feeds) {
    if (!m.graph_inputs.count(name)) {  // a feed the plan does not use is fine; a typo is not
      std::string names;
      for (const auto& e : m.graph_inputs) names += fmt::format("{}{}", names.empty() ? "" : ", ", e);
      throw FeedError(fmt::format("unknown feed '{}': the graph's inputs are [{}]", name, names));
    }
  }
  if (!m.updates.empty() && store == nullptr) {
    throw FeedError("the plan has updates but no VariableStore was given");
  }
  if (!m.prepared || shapes != m.signature) m.prepare(shapes);
  for (const auto& [name, s] : m.updates) {
    Slot& sl = m.slots[static_cast<std::size_t>(s)];
    if (sl.in_place.empty()) continue;
    const Tensor& var = store->get(name);
    if (!var.defined() || var.type() != sl.type) {
      throw FeedError(fmt::format("variable '{}' is updated with {} but the store holds {}", name,
                                  sl.type.to_string(), var.defined() ? var.type().to_string() : "nothing"));
    }
    m.values[static_cast<std::size_t>(s)] = var;
    m.steps[static_cast<std::size_t>(sl.producer)].out_tensors[static_cast<std::size_t>(sl.producer_output)] =
        m.values[static_cast<std::size_t>(s)];
  }

  for (auto& st : m.steps) {
    if (st.view) continue;
    for (std::size_t k = 0; k < st.ins.size(); ++k) st.in_tensors[k] = m.values[static_cast<std::size_t>(st.ins[k])];
    try {
      const KernelContext ctx{*st.node, st.in_tensors, st.out_tensors};
      if (st.prepared != nullptr) {
        st.prepared->run(ctx);
      } else {
        (*st.kernel)(ctx);
      }
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(fmt::format("node {} failed: {}", st.node->label(), e.what()));
    }
  }
  if (!m.updates.empty()) {
    std::vector<Tensor> fresh;
    for (const auto& [name, s] : m.updates) {
      const Slot& sl = m.slots[static_cast<std::size_t>(s)];
      const Tensor& v = m.values[static_cast<std::size_t>(s)];
      fresh.push_back(sl.kind == SlotKind::buffer ? v : v.clone());  // leaves may alias the store
    }
    for (std::size_t i = 0; i < m.updates.size(); ++i) {
      if (m.slots[static_cast<std::size_t>(m.updates[i].second)].in_place.empty()) {
        store->get(m.updates[i].first).copy_from(fresh[i]);
      }
    }
  }
  m.results.resize(m.outputs.size());
  for (std::size_t i = 0; i < m.outputs.size(); ++i) m.results[i] = m.values[static_cast<std::size_t>(m.outputs[i])];
  return m.results;
}

std::size_t Plan::peak_bytes() const {
  std::size_t total = 0;
  for (auto b : impl_->buffer_need) total += b;
  return total;
}
std::size_t Plan::unshared_bytes() const { return impl_->unshared; }
std::size_t Plan::num_steps() const { return impl_->steps.size(); }

std::vector<std::string> Plan::input_names() const {
  std::vector<std::string> out;
  for (const auto& s : impl_->slots) {
    if (s.kind == SlotKind::input) out.push_back(s.name);
  }
  return out;
}

std::vector<std::string> Plan::variable_names() const {
  std::vector<std::string> out;
  for (const auto& s : impl_->slots) {
    if (s.kind == SlotKind::variable) out.push_back(s.name);
  }
  return out;
}

std::vector<std::string> Plan::step_backends() const {
  std::vector<std::string> out;
  for (const auto& st : impl_->steps) {
    // before the first run of a plan with open shapes nothing is prepared: name the plan's choice
    const bool planned = !impl_->prepared && st.factory != nullptr;
    if (st.view) {
      out.push_back("view");
    } else if (!st.chain.empty() || fusion::is_chain_kernel(st.prepared)) {
      out.push_back("fused");
    } else {
      out.push_back(st.prepared != nullptr || planned ? impl_->backend : st.kernel_backend);
    }
  }
  return out;
}

std::string Plan::to_string() const {
  std::string s = fmt::format("plan: {} steps on '{}', peak {} bytes (unshared {})\n",
                              impl_->steps.size(), impl_->backend, peak_bytes(), unshared_bytes());
  for (std::size_t i = 0; i < impl_->steps.size(); ++i) {
    const Step& st = impl_->steps[i];
    std::string outs;
    for (int o : st.outs) {
      const Slot& sl = impl_->slots[static_cast<std::size_t>(o)];
      outs += fmt::format("{}{} {}", outs.empty() ? "" : ", ",
                          sl.in_place.empty() ? fmt::format("buf{}", sl.buffer) : fmt::format("in place '{}'", sl.in_place),
                          sl.type.to_string());
    }
    const std::string what = st.chain.empty() ? st.node->label()
                                              : fmt::format("chain of {} ops ending at {}", st.chain.size(), st.node->label());
    s += fmt::format("  {:3}: {} [{}] -> {}\n", i, what, step_backends()[i], outs);
  }
  return s;
}

}  // namespace symgrad
