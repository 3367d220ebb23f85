#include "symgrad/runtime/plan.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "fusion.hpp"
#include "plan_impl.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad {

using plan_detail::fits;
using plan_detail::Key;
using plan_detail::Slot;
using plan_detail::SlotKind;
using plan_detail::Step;


// Steps whose output has the bytes of their input for the current shapes (a reshape; a sum over
// or broadcast to nothing) become views: they share the input's buffer and run nothing. Not on
// the reference backend, which runs every op's kernel as the oracle.
void Plan::Impl::find_views() {
  for (auto& st : steps) {
    st.view = false;
    if (backend == "reference" || !st.chain.empty() || st.outs.size() != 1 || st.ins.empty()) continue;
    const Slot& in = slots[static_cast<std::size_t>(st.ins[0])];
    const Slot& out = slots[static_cast<std::size_t>(st.outs[0])];
    const bool same_bytes = in.type.dtype == out.type.dtype && in.type.shape.numel() == out.type.shape.numel();
    const bool viewable = st.node->op->view_when_same_size;
    st.view = viewable && same_bytes && in.kind == SlotKind::buffer && out.in_place.empty();
  }
}

// Which slots may hold a backend layout for the current shapes: buffers that are neither outputs
// nor updates, read only by steps that run their backend's factory and accept a layout at every
// position they read the slot (KernelRegistry::layout_inputs). `chained[i]`: step i runs a chain kernel.
std::vector<bool> Plan::Impl::layout_allowed(const std::vector<std::unique_ptr<PreparedKernel>>& chained) const {
  std::vector<bool> allowed(slots.size(), false);
  std::vector<bool> read(slots.size(), false);
  for (std::size_t s = 0; s < slots.size(); ++s) {
    allowed[s] = slots[s].kind == SlotKind::buffer && !slots[s].pinned && slots[s].in_place.empty();
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const Step& st = steps[i];
    const bool factory_step = !st.view && st.chain.empty() && !chained[i] && st.factory != nullptr;
    const std::set<int>* accepts = nullptr;
    if (factory_step) {
      accepts = &KernelRegistry::global().layout_inputs(st.node->op->name, backend);
    }
    for (std::size_t k = 0; k < st.ins.size(); ++k) {
      const auto s = static_cast<std::size_t>(st.ins[k]);
      read[s] = true;
      if (accepts == nullptr || !accepts->count(static_cast<int>(k))) allowed[s] = false;
    }
  }
  for (std::size_t s = 0; s < slots.size(); ++s) allowed[s] = allowed[s] && read[s];
  return allowed;
}

void Plan::Impl::prepare_kernels(const std::vector<Shape>& shapes) {
  auto [it, fresh] = kernel_cache.try_emplace(shapes);
  PreparedSet& set = it->second;
  auto& kernels = set.kernels;
  try {
    if (fresh) {
      kernels.resize(steps.size());
      set.layouts.assign(slots.size(), nullptr);
      set.overwrites.assign(steps.size(), -1);
      // Chain kernels first (fused chains; small elementwise ops alone): they read plain tensors.
      for (std::size_t i = 0; i < steps.size(); ++i) {
        Step& st = steps[i];
        if (st.view) continue;
        if (!st.chain.empty()) {
          kernels[i] = fusion::make_chain_kernel(st.chain, inputs_of, st.in_keys, st.out_keys, st.chain_types,
                                                 compile_chains);
        } else if (small_on_chain && fusion::fusible(*st.node) &&
                   (slots[static_cast<std::size_t>(st.outs[0])].type.shape.numel() <= fusion::kSmallElementwise ||
                    (fusion::runs_formula(*st.node->op) && st.factory == nullptr))) {  // a formula's kernel here
          std::map<Key, TensorType> types;
          for (std::size_t k = 0; k < st.ins.size(); ++k) types[st.in_keys[k]] = slots[static_cast<std::size_t>(st.ins[k])].type;
          types[st.out_keys[0]] = slots[static_cast<std::size_t>(st.outs[0])].type;
          kernels[i] = fusion::make_chain_kernel({st.node}, inputs_of, st.in_keys, st.out_keys, types, compile_chains);
        }
      }
      // Then the backend's kernels in execution order: a producer's layout is known to its consumers.
      const std::vector<bool> allowed = layout_allowed(kernels);
      for (std::size_t i = 0; i < steps.size(); ++i) {
        Step& st = steps[i];
        if (st.view || kernels[i] || st.factory == nullptr) continue;
        std::vector<TensorType> in, out;
        std::vector<LayoutPtr> in_layouts;
        std::vector<bool> may;
        for (int s : st.ins) {
          in.push_back(slots[static_cast<std::size_t>(s)].type);
          in_layouts.push_back(set.layouts[static_cast<std::size_t>(s)]);
        }
        for (int s : st.outs) {
          out.push_back(slots[static_cast<std::size_t>(s)].type);
          may.push_back(allowed[static_cast<std::size_t>(s)]);
        }
        std::vector<LayoutPtr> out_layouts(st.outs.size());
        const std::vector<std::int64_t> ids(st.ins.begin(), st.ins.end());
        kernels[i] = (*st.factory)(
            PrepareContext{*st.node, in, out, ids, &set.shared, in_layouts, may, &out_layouts, precision});
        const bool given = std::any_of(in_layouts.begin(), in_layouts.end(), [](const auto& l) { return l != nullptr; });
        if (!kernels[i] && (given || st.kernel == nullptr)) {
          std::string types;
          for (const auto& t : in) types += fmt::format("{}{}", types.empty() ? "" : ", ", t.to_string());
          throw UsageError(fmt::format("backend '{}' cannot run op '{}' (node {}) on inputs {}{}", backend,
                                       st.node->op->name, st.node->label(), types,
                                       given ? " in its own layouts" : ", and there is no fallback"));
        }
        for (std::size_t k = 0; k < st.outs.size(); ++k) {
          if (out_layouts[k] && !may[k]) {
            throw Error(fmt::format("kernel of node {} chose a layout for output {} where a plain one is needed",
                                    st.node->label(), k));
          }
          set.layouts[static_cast<std::size_t>(st.outs[k])] = out_layouts[k];
        }
        if (kernels[i]) set.overwrites[i] = KernelRegistry::global().in_place_input(st.node->op->name, backend);
      }
    }
  } catch (...) {
    kernel_cache.erase(it);  // never keep a half-prepared set
    throw;
  }
  for (std::size_t i = 0; i < steps.size(); ++i) {
    steps[i].prepared = steps[i].view ? nullptr : kernels[i].get();
    steps[i].overwrites = steps[i].view ? -1 : set.overwrites[i];
  }
  for (std::size_t s = 0; s < slots.size(); ++s) slots[s].layout = set.layouts[s];
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
  auto bytes_of = [](const Slot& sl) {
    const auto plain = static_cast<std::size_t>(sl.type.shape.numel()) * dtype_size(sl.type.dtype);
    return sl.layout ? std::max(plain, sl.layout->bytes) : plain;
  };
  // The slot output 0 of step i may take the buffer of: the input its kernel may write over
  // (Step::overwrites), when nothing reads that input later and both are stored alike; else -1.
  auto overwritten = [&](std::size_t i) {
    const Step& st = steps[i];
    if (st.overwrites < 0 || static_cast<std::size_t>(st.overwrites) >= st.ins.size()) return -1;
    const int in = st.ins[static_cast<std::size_t>(st.overwrites)];
    const Slot& a = slots[static_cast<std::size_t>(in)];
    const Slot& out = slots[static_cast<std::size_t>(st.outs[0])];
    const auto same_layout = [](const LayoutPtr& x, const LayoutPtr& y) {
      return x == y || (x && y && x->name == y->name && x->bytes == y->bytes);
    };
    if (a.kind != SlotKind::buffer || a.buffer < 0 || a.pinned || !a.in_place.empty() ||
        a.last_use != static_cast<int>(i) || !out.in_place.empty() || a.type != out.type ||
        !same_layout(a.layout, out.layout)) {
      return -1;
    }
    const bool alone = std::count(st.ins.begin(), st.ins.end(), in) == 1 &&
                       users[static_cast<std::size_t>(a.buffer)] == 1;  // no view of it lives on
    return alone ? a.buffer : -1;
  };
  for (std::size_t i = 0; i < steps.size(); ++i) {
    for (int s : steps[i].outs) {
      Slot& sl = slots[static_cast<std::size_t>(s)];
      if (!sl.in_place.empty()) continue;
      if (s == steps[i].outs[0]) {
        if (const int b = overwritten(i); b >= 0) {  // written over its input, which dies here
          unshared += bytes_of(sl);
          sl.buffer = b;
          ++users[static_cast<std::size_t>(b)];
          continue;
        }
      }
      if (steps[i].view) {  // the same bytes as the input: share its buffer
        sl.buffer = slots[static_cast<std::size_t>(steps[i].ins[0])].buffer;
        ++users[static_cast<std::size_t>(sl.buffer)];
        continue;
      }
      const std::size_t need = bytes_of(sl);
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
  prepare_kernels(shapes);  // before the buffers: a backend layout may need more bytes
  assign_buffers();
  signature = shapes;
  prepared = true;
}

Plan::Plan(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;
Plan::~Plan() = default;

void Plan::Impl::find_output_steps() {
  if (!finished_by.empty()) return;
  finished_by.resize(steps.size() + 1);
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const int producer = slots[static_cast<std::size_t>(outputs[i])].producer;
    finished_by[producer < 0 ? steps.size() : static_cast<std::size_t>(producer)].push_back(i);
  }
}

std::vector<std::size_t> Plan::output_order() const {
  impl_->find_output_steps();
  const auto& by = impl_->finished_by;
  std::vector<std::size_t> order(by.back());
  for (std::size_t i = 0; i + 1 < by.size(); ++i) order.insert(order.end(), by[i].begin(), by[i].end());
  return order;
}

const std::vector<Tensor>& Plan::run(const Feeds& feeds, VariableStore* store) { return run(feeds, store, nullptr); }

const std::vector<Tensor>& Plan::run(const Feeds& feeds, VariableStore* store, const OutputReady& ready) {
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

  if (ready) {
    m.find_output_steps();
    for (std::size_t o : m.finished_by.back()) ready(o, m.values[static_cast<std::size_t>(m.outputs[o])]);
  }
  for (std::size_t i = 0; i < m.steps.size(); ++i) {
    Step& st = m.steps[i];
    const auto finished = [&] {  // after step i (a view's too: it finishes its output by running nothing)
      if (ready) {
        for (std::size_t o : m.finished_by[i]) ready(o, m.values[static_cast<std::size_t>(m.outputs[o])]);
      }
    };
    if (st.view) {
      finished();
      continue;
    }
    for (std::size_t k = 0; k < st.ins.size(); ++k) st.in_tensors[k] = m.values[static_cast<std::size_t>(st.ins[k])];
    try {
      const KernelContext ctx{*st.node, st.in_tensors, st.out_tensors, m.communicator};
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
    finished();
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
  const auto backends = step_backends();
  for (std::size_t i = 0; i < impl_->steps.size(); ++i) {
    const Step& st = impl_->steps[i];
    std::string outs;
    for (int o : st.outs) {
      const Slot& sl = impl_->slots[static_cast<std::size_t>(o)];
      outs += fmt::format("{}{} {}{}", outs.empty() ? "" : ", ",
                          sl.in_place.empty() ? fmt::format("buf{}", sl.buffer) : fmt::format("in place '{}'", sl.in_place),
                          sl.type.to_string(), sl.layout ? fmt::format(" ({})", sl.layout->name) : "");
    }
    const std::string what = st.chain.empty() ? st.node->label()
                                              : fmt::format("chain of {} ops ending at {}", st.chain.size(), st.node->label());
    const std::string code = fusion::chain_kernel_code(st.prepared);  // compiled or interpreted, and why
    s += fmt::format("  {:3}: {} [{}{}] -> {}\n", i, what, backends[i], code.empty() ? "" : ", " + code, outs);
  }
  return s;
}

}  // namespace symgrad
