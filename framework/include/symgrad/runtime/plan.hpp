#pragma once
/// @file
/// Compiling a graph into an execution plan, and running it.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "symgrad/graph/graph.hpp"
#include "symgrad/runtime/communicator.hpp"
#include "symgrad/runtime/kernel.hpp"
#include "symgrad/runtime/variable_store.hpp"

namespace symgrad {

/// Options of compile().
struct CompileOptions {
  /// Kernels to run: "reference" (double and float loops; the oracle) or "onednn" (float32 on
  /// oneDNN primitives, prepared once per set of shapes).
  std::string backend = "reference";
  /// Backend whose kernel runs a step the backend does not handle (an op without a kernel
  /// there, or a dtype it does not take); empty: such a step is an error at compile time.
  std::string fallback = "reference";
  /// Variables written back after each run: variable name -> the value that replaces it.
  std::map<std::string, Value> updates;
  /// Merge identical nodes (same op, attributes and inputs; equal constants).
  bool merge_identical = true;
  /// Fuse chains of elementwise ops of one shape into one pass over memory. automatic: on for
  /// every backend but "reference", which stays op by op as the oracle.
  enum class Fusion { automatic, on, off } fusion = Fusion::automatic;
  /// Compile fused chains to machine code (x86-64 with AVX-512; f32; the ops of chain_jit.cpp),
  /// every value in a register, one load per input and one store per output per 16 elements.
  /// false, or a chain or CPU the compiler does not take: the chain kernel interprets it
  /// (`to_string()` says which and why). Either way the results are the same.
  bool compile_chains = true;
  /// The processes whose sum `cross_replica_sum` takes (data-parallel training; not owned). Null:
  /// one process, the op passes its input through. Every process runs the same plan, so the sums
  /// come in the same order everywhere, as collective calls must.
  Communicator* communicator = nullptr;
  /// Precision of matmuls and convolutions (runtime/kernel.hpp): bf16 runs them on bfloat16
  /// operands with float32 accumulation on the onednn backend (CPUs with AVX512_BF16); what the
  /// plan returns or updates stays float32, activations between convolutions, activations and
  /// pooling are stored in bf16. The reference backend always computes in full precision.
  Precision precision = Precision::f32;
};

/// True when this CPU has native bf16 instructions (AVX512_BF16 or newer), so that
/// Precision::bf16 runs the onednn backend's matmuls and convolutions in bf16; false: they
/// compute in f32 (oneDNN's emulation of bf16 would be slower than f32).
bool native_bf16();

/// The vector instruction sets this process's onednn backend runs, both fixed for the process by
/// the CPU and the variable ONEDNN_MAX_CPU_ISA (docs/backends.md, "Instruction sets"): oneDNN's
/// effective one ("avx512_core_amx", "avx2", ...) and the elementwise-chain compiler's ("avx512",
/// "avx2", or "interpreted"). Throws UsageError when ONEDNN_MAX_CPU_ISA is not one of oneDNN's.
struct InstructionSets {
  std::string onednn;
  std::string chains;
};
InstructionSets instruction_sets();

/// Input tensors of one run, by input name.
using Feeds = std::map<std::string, Tensor>;

/// A compiled graph: the nodes needed for the outputs (and updates), merged, in topological
/// order, with buffers assigned by liveness. Build with compile(); run many times. A plan owns its
/// buffers: run it from one thread at a time (compile one plan per thread to run in parallel).
class Plan {
 public:
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;
  ~Plan();

  /// Runs the plan. Every input of the plan must be fed, with its dtype and a shape that fits
  /// (open dimensions take any size); a feed naming no input of the graph is a typo. A FeedError
  /// names the input at fault.
  /// Variables are read from `store` (required when the plan has variables) and updates written
  /// back to it. A run with the same shapes as the previous one allocates no tensor buffers.
  /// Returns the outputs, which stay valid until the next run (clone() to keep them).
  /// Updates are written when the run succeeds, except those written in place (see
  /// docs/backends.md), which a run that throws after their step may already have applied: keep a
  /// checkpoint of the store if a failed step must leave it untouched.
  const std::vector<Tensor>& run(const Feeds& feeds, VariableStore* store = nullptr);

  /// Called by run() as soon as output `index`'s value is final, while the steps after its
  /// producer still run (data-parallel training starts summing a gradient over the processes
  /// there, as PyTorch DDP's buckets do). Once per output and run, in the order the plan finishes
  /// them: outputs that are inputs or variables first, then by their producer's step. The value
  /// stays valid until the next run.
  using OutputReady = std::function<void(std::size_t index, const Tensor& value)>;
  const std::vector<Tensor>& run(const Feeds& feeds, VariableStore* store, const OutputReady& ready);
  /// The order in which run() finishes the outputs (indices into the outputs), as `ready` sees it.
  std::vector<std::size_t> output_order() const;

  /// Bytes of the buffers holding intermediate values, after reuse by liveness, for the shapes
  /// of the last run (or the static shapes before any run).
  std::size_t peak_bytes() const;
  /// Bytes the intermediate values would take without reuse (for comparison).
  std::size_t unshared_bytes() const;
  /// Number of op nodes the plan runs.
  std::size_t num_steps() const;
  /// Names of the inputs the plan needs, and of the variables it reads.
  std::vector<std::string> input_names() const;
  std::vector<std::string> variable_names() const;
  /// Per step, the backend whose kernel runs it (for the shapes of the last run).
  std::vector<std::string> step_backends() const;
  /// The schedule, one step a line, with its backend and each value's buffer.
  std::string to_string() const;

  struct Impl;

 private:
  friend Plan compile(Graph&, const std::vector<Value>&, const CompileOptions&);
  explicit Plan(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Compiles `outputs` (and the options' updates) of `graph`: dead-node elimination, merging of
/// identical nodes, topological order, buffer reuse by liveness. Throws UsageError when an op has
/// no kernel for the backend.
Plan compile(Graph& graph, const std::vector<Value>& outputs, const CompileOptions& options = {});

}  // namespace symgrad
