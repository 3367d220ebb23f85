#pragma once
// The inside of a Plan, shared by compile.cpp (which builds it) and plan.cpp (which prepares and
// runs it). Internal to the runtime.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "symgrad/graph/op_def.hpp"
#include "symgrad/runtime/kernel.hpp"
#include "symgrad/runtime/plan.hpp"

namespace symgrad {
namespace plan_detail {

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
  LayoutPtr layout;  // for the current shapes: the backend layout its bytes are in (null: plain)
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
  int overwrites = -1;  // for the current shapes: the input output 0 may be written over, or -1
  std::vector<int> ins, outs;
  std::vector<Tensor> in_tensors, out_tensors;
};

inline std::string const_key(const Tensor& t) {
  std::string k = t.type().to_string() + ":";
  k.append(static_cast<const char*>(t.raw()), t.nbytes());
  return k;
}

inline bool fits(const TensorType& declared, const TensorType& given) {
  if (declared.dtype != given.dtype || declared.shape.rank() != given.shape.rank()) return false;
  for (std::size_t i = 0; i < declared.shape.rank(); ++i) {
    if (declared.shape[i] != Shape::kOpen && declared.shape[i] != given.shape[i]) return false;
  }
  return true;
}

}  // namespace plan_detail

struct Plan::Impl {
  using Key = plan_detail::Key;
  using Slot = plan_detail::Slot;
  using Step = plan_detail::Step;
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
  bool compile_chains = true;   // CompileOptions::compile_chains
  Communicator* communicator = nullptr;  // CompileOptions::communicator
  Precision precision = Precision::f32;  // CompileOptions::precision

  // Run-time state.
  std::vector<Tensor> values;  // per slot
  std::vector<std::shared_ptr<std::byte>> buffers;
  std::vector<std::size_t> buffer_capacity;
  std::vector<std::size_t> buffer_need;
  std::vector<Shape> signature;
  bool prepared = false;
  // Prepared kernels per set of input shapes: a batch size seen before reuses its primitives.
  struct PreparedSet {
    std::vector<std::unique_ptr<PreparedKernel>> kernels;  // per step
    std::map<std::string, std::shared_ptr<void>> shared;   // PrepareContext::shared
    std::vector<LayoutPtr> layouts;                        // per slot (Slot::layout)
    std::vector<int> overwrites;                           // per step (Step::overwrites)
  };
  std::map<std::vector<Shape>, PreparedSet> kernel_cache;
  std::vector<Tensor> results;
  std::size_t unshared = 0;
  // Plan::run's OutputReady: the outputs whose value step i finishes (index steps.size(): the
  // outputs no step writes, finished before the first step). Filled at the first such run.
  std::vector<std::vector<std::size_t>> finished_by;

  void prepare(const std::vector<Shape>& shapes);
  void infer_types();
  void assign_buffers();
  void prepare_kernels(const std::vector<Shape>& shapes);
  void find_views();
  void find_output_steps();
  std::vector<bool> layout_allowed(const std::vector<std::unique_ptr<PreparedKernel>>& chained) const;
};

}  // namespace symgrad
