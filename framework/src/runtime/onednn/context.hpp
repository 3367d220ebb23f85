#pragma once
// The oneDNN backend's shared pieces: the engine and stream, memory descriptors of plan tensors,
// and PrimitiveKernel, a primitive built once whose arguments are bound to the kernel's tensors
// (by data handle, without copies) at every run. Internal to framework/src/runtime/onednn.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "symgrad/graph/op_def.hpp"
#include "symgrad/graph/op_registry.hpp"
#include "symgrad/runtime/kernel.hpp"
#include "symgrad/runtime/plan.hpp"

namespace symgrad::onednn {

inline constexpr const char* kBackend = "onednn";

/// The CPU engine and its in-order stream (created on first use; threads from
/// SYMGRAD_NUM_THREADS when set, else OpenMP's default).
dnnl::engine& engine();
dnnl::stream& stream();

using dims = dnnl::memory::dims;
using md = dnnl::memory::desc;

/// Dimensions of a shape; a scalar is {1}. `rank` pads with leading ones.
dims dims_of(const Shape& s, std::size_t rank = 0);
/// Row-major (plain) strides of dims.
dims plain_strides(const dims& d);
/// A plain f32 descriptor of a shape (padded to `rank`).
md plain(const Shape& s, std::size_t rank = 0);
md plain(const dims& d);

/// The primitive attributes of a fused layer op (linear, conv2d_bias): its "activation" attribute
/// (none, relu, tanh, sigmoid) as an eltwise post-op.
dnnl::primitive_attr activation_post_op(const Attrs& attrs);

/// True when every input and output of the context is f32 (the backend's dtype).
bool all_f32(const PrepareContext& ctx);

/// True when matmuls and convolutions prepared in `c` take bf16 operands: the plan asks for it
/// (Precision::bf16) and the CPU has native bf16 instructions (AVX512_BF16 or newer; oneDNN
/// would emulate them elsewhere, slower than f32).
bool bf16_operands(const PrepareContext& c);
/// Runs part(begin, count) over [0, n) in chunks of `chunk` elements, on the backend's threads when
/// there are at least 4 chunks (the elementwise passes the backend writes itself: a chunk is a
/// task of cache-sized work).
template <class Part>
void in_chunks(std::int64_t n, std::int64_t chunk, const Part& part) {
  const std::int64_t chunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (chunks >= 4)
  for (std::int64_t c = 0; c < chunks; ++c) part(c * chunk, std::min(chunk, n - c * chunk));
}
/// y[i] = x[i] rounded to bf16 (to nearest even; NaN stays NaN), i < n; threaded when large.
void round_to_bf16(const float* x, std::uint16_t* y, std::int64_t n);
/// `d` (plain, strided, blocked or format_tag::any) with elements of type `t`, in the same places.
md with_type(const md& d, dnnl::memory::data_type t);
/// The element type output `k` is stored in when the kernel computes it in `computed`: bf16 only
/// when the output may keep a backend layout (PrepareContext::may_use_layout: every consumer is a
/// layout-taking kernel of this backend, and each of them reads bf16), else f32. So in a bf16 plan
/// the activations and activation gradients passed between convolutions, activations, pooling and
/// batch normalization stay bf16, while anything the plan returns, any plain tensor, parameter or
/// parameter gradient stays f32.
dnnl::memory::data_type stored_type(const PrepareContext& c, std::size_t k, dnnl::memory::data_type computed);


/// Where a primitive argument comes from at run time.
struct Source {
  enum Kind { input, output, scratch } kind;
  int index;  // input or output index; unused for scratch
};
inline Source in(int i) { return {Source::input, i}; }
inline Source out(int i) { return {Source::output, i}; }
inline Source scratch() { return {Source::scratch, 0}; }

/// A sequence of primitives, each with its arguments bound to the kernel's tensors at run time
/// (scratch memories, such as pooling workspaces, are allocated once).
class PrimitiveKernel : public PreparedKernel {
 public:
  /// Appends a primitive; `args` map DNNL_ARG_* to descriptors and sources.
  void add(dnnl::primitive p, const std::vector<std::tuple<int, md, Source>>& args);
  /// Passes `mem` (allocated once, e.g. a workspace shared by a forward and a backward) as
  /// argument `arg` of the primitive added last.
  void share(int arg, dnnl::memory mem);
  /// A host step between primitives (e.g. zeroing an output).
  void add_host(std::function<void(const KernelContext&)> fn);
  void run(const KernelContext& ctx) override;

 private:
  struct Bound {
    int arg;
    Source source;
    dnnl::memory mem;
  };
  struct Item {
    dnnl::primitive prim;
    std::vector<Bound> args;
    std::unordered_map<int, dnnl::memory> exec;  // the same memory objects, keyed for execute()
    std::function<void(const KernelContext&)> host;
  };
  std::vector<Item> items_;
};

/// Input `i` of the context (stored as `stored`) in the layout `chosen`: a memory of the plan
/// that the first kernel asking for it fills at every run (the reorder, or the rounding to bf16
/// when only the element type changes, is added to `k` here); later kernels of the plan reading the
/// same value in the same layout share it (PrepareContext::shared), since a value cannot change
/// while it has readers. Outside a plan, a copy of its own.
dnnl::memory input_in(PrimitiveKernel& k, const PrepareContext& c, std::size_t i, const md& stored, const md& chosen);
/// Input `i` (plain f32 as `plain_md`) rounded to bf16: input_in with plain bf16 of those dims.
dnnl::memory bf16_copy(PrimitiveKernel& k, const PrepareContext& c, std::size_t i, const md& plain_md);

/// Backend layouts (PrepareContext::input_layouts / output_layouts) as oneDNN descriptors.
LayoutPtr make_layout(const md& desc);
/// How input `i` of the context is stored: its layout's descriptor, or `plain_md`.
md stored_md(const PrepareContext& c, std::size_t i, const md& plain_md);
/// A descriptor with the dims of `d` and the layout left to the primitive (format_tag::any).
md any(const md& d);

/// One argument of a primitive whose layout the primitive chose: the descriptor of the plan's
/// tensor as stored (plain, or an input's backend layout), the descriptor the primitive chose,
/// and where the tensor comes from.
struct LayoutArg {
  int arg;
  md stored, chosen;
  Source source;
};
/// Adds `prim` to `k` with its arguments in the chosen layouts: an input stored in another layout
/// is reordered into it first; an output in a non-plain layout is written there directly when
/// the plan allows it (recorded in c.output_layouts), else reordered into the plain tensor after.
/// `extra` are memories allocated once passed to `prim` (e.g. a workspace).
void add_with_layouts(PrimitiveKernel& k, dnnl::primitive prim, const std::vector<LayoutArg>& args,
                      const PrepareContext& c, const std::vector<std::pair<int, dnnl::memory>>& extra = {});
/// A factory that accepts inputs in backend layouts by reordering them into plain scratch tensors
/// before running `inner` (for consumers with no layout-aware primitive, e.g. reductions).
KernelFactory with_plain_inputs(KernelFactory inner);

/// The f32 guard every factory starts with: nullptr for other dtypes (the plan falls back).
#define SYMGRAD_ONEDNN_F32_ONLY(ctx) \
  if (!::symgrad::onednn::all_f32(ctx)) return nullptr

void register_elementwise_kernels(KernelRegistry& r);
void register_matmul_kernels(KernelRegistry& r);
void register_reduce_kernels(KernelRegistry& r);
void register_nn_kernels(KernelRegistry& r);
void register_conv_kernels(KernelRegistry& r);
void register_pool_kernels(KernelRegistry& r);
void register_shape_kernels(KernelRegistry& r);
void register_host_kernels(KernelRegistry& r);

}  // namespace symgrad::onednn
