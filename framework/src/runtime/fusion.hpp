#pragma once
// Fusion of elementwise chains: groups the elementwise ops of a plan that share one output shape
// into chains, each run by one kernel in a single pass over memory (optimizer updates, penalty
// terms and scalings are such chains), and schedules the resulting units. Internal to the runtime.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "symgrad/graph/op_def.hpp"
#include "symgrad/runtime/kernel.hpp"

namespace symgrad::fusion {

using Key = std::pair<std::int32_t, std::int32_t>;  // (node, output)

/// True when the chain kernel can run op `op` (an elementwise op of its table).
bool chain_supports(const std::string& op);
/// Whether `op` is declared by a formula the chain kernel runs (OpDef::formula).
bool runs_formula(const OpDef& op);

/// True when `node` can join an elementwise chain: an op of the chain kernel's table, one
/// floating output, inputs of that dtype whose shapes equal the output's, are scalars, or are a
/// static trailing part of it (a bias row).
bool fusible(const Node& node);

/// Groups the needed op nodes into units in a valid execution order. A unit is one node, or (when
/// `fuse`) a chain of two or more fusible nodes with one output shape whose grouping creates no
/// cycle. `inputs_of` gives each needed node's canonical inputs.
using NodeOf = std::function<const Node&(std::int32_t)>;

/// Rewrites, on backends that fuse, each matmul (conv2d) whose only use is the add of a [M]
/// ([1, O, 1, 1]) bias, optionally followed by a relu, tanh or sigmoid that is the add's only use,
/// into one `linear` (`conv2d_bias`) node, which oneDNN runs as one primitive with a bias and an
/// eltwise post-op. The new nodes live in `storage` and take the id of the value they replace;
/// `needed` and `inputs_of` are updated. `keep` are values that must stay visible (outputs,
/// updates).
void form_layers(const NodeOf& node_of, std::set<std::int32_t>& needed,
                 std::map<std::int32_t, std::vector<Key>>& inputs_of, const std::set<Key>& keep,
                 std::deque<Node>& storage, std::map<std::int32_t, const Node*>& replaced);

/// Rewrites, on backends that fuse, a conv2d_backward_filter(x, g, like_w) and a sum_to_like(g,
/// like_b) of the same g into a bias-shaped like_b ([1, O, 1, 1], [O, 1, 1] or [O]) into one
/// `conv2d_backward_filter_bias` node with outputs (dw, db): a convolution's weight and bias
/// gradients, which oneDNN computes in one pass over g. The node takes the filter's id; the sum's
/// value becomes output 1 of it, recorded in `renamed` (old key -> new key) and rewritten in
/// `inputs_of`: the caller renames its own references (outputs, updates).
void form_filter_bias(const NodeOf& node_of, std::set<std::int32_t>& needed,
                      std::map<std::int32_t, std::vector<Key>>& inputs_of, std::deque<Node>& storage,
                      std::map<std::int32_t, const Node*>& replaced, std::map<Key, Key>& renamed);

std::vector<std::vector<std::int32_t>> schedule(const NodeOf& node_of, const std::set<std::int32_t>& needed,
                                                const std::map<std::int32_t, std::vector<Key>>& inputs_of,
                                                bool fuse);

/// Elementwise ops with at most this many output elements run on the chain kernel even alone:
/// for small tensors a oneDNN call (and its thread start) costs more than the work.
inline constexpr std::int64_t kSmallElementwise = 4096;

/// The chain kernel for concrete types: evaluates `members` (in order) block by block, reading the
/// external values `inputs` and writing the values `outputs`, in the order of the step's tensors.
/// Throws ShapeError naming the chain's first node when the run-time shapes do not fit.
/// `compile_code`: compile the chain to machine code where the CPU and the chain allow
/// (chain_jit.hpp); otherwise, and for what the compiler does not take, it is interpreted.
std::unique_ptr<PreparedKernel> make_chain_kernel(const std::vector<const Node*>& members,
                                                  const std::map<std::int32_t, std::vector<Key>>& inputs_of,
                                                  const std::vector<Key>& inputs,
                                                  const std::vector<Key>& outputs,
                                                  const std::map<Key, TensorType>& types, bool compile_code);

/// True when `k` is a chain kernel (for reporting which kernel runs a step).
bool is_chain_kernel(const PreparedKernel* k);

/// How a chain kernel runs: "avx512" or "avx2" (compiled), or "interpreted: <why>"; empty for other kernels.
std::string chain_kernel_code(const PreparedKernel* k);

}  // namespace symgrad::fusion
