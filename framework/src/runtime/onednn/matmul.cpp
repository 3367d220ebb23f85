// oneDNN kernel of matmul. Transposed operands are read through memory descriptors with swapped
// strides (oneDNN has no matmul backward: gradients are matmuls of transposed descriptors), and
// batch dimensions broadcast as oneDNN's matmul allows (size-1 batch dimensions). With bf16
// operands (CompileOptions::precision) both operands are rounded to bf16 copies shared within the
// plan (a weight is rounded once a step for its forward and backward matmuls, an activation once
// for the next layer and its weight gradient); products accumulate in f32, into f32 results.

#include "context.hpp"

namespace symgrad::onednn {
namespace {

using dt = dnnl::memory::data_type;

// Descriptor of op(x) with x's plain memory: dims [..., r, c] of x, swapped when transposed.
md operand(const Shape& s, std::size_t rank, bool transposed) {
  dims d = dims_of(s, rank);
  dims st = plain_strides(d);
  if (transposed) {
    std::swap(d[rank - 1], d[rank - 2]);
    std::swap(st[rank - 1], st[rank - 2]);
  }
  return md(d, dt::f32, st);
}

// A matmul on operands a (input 0) and b (input 1) read through the descriptors `a` and `b` of
// their plain f32 memory; `extra` are the other arguments (bias, destination). With bf16
// operands, a and b are read from their bf16 copies through the same strides.
std::unique_ptr<PreparedKernel> matmul_kernel(const PrepareContext& c, const md& a, const md& b, const md& bias,
                                              const md& y, const dnnl::primitive_attr& attr) {
  auto k = std::make_unique<PrimitiveKernel>();
  const bool has_bias = !bias.is_zero();
  std::vector<std::tuple<int, md, Source>> args = {{DNNL_ARG_DST, y, out(0)}};
  if (has_bias) args.push_back({DNNL_ARG_BIAS, bias, in(2)});
  if (!bf16_operands(c)) {
    args.push_back({DNNL_ARG_SRC, a, in(0)});
    args.push_back({DNNL_ARG_WEIGHTS, b, in(1)});
    dnnl::matmul::primitive_desc pd(has_bias ? dnnl::matmul::desc(a, b, bias, y) : dnnl::matmul::desc(a, b, y), attr, engine());
    k->add(dnnl::matmul(pd), args);
    return k;
  }
  const std::size_t rank = static_cast<std::size_t>(y.data.ndims);
  const dnnl::memory a16 = bf16_copy(*k, c, 0, plain(c.inputs[0].shape, rank));
  const dnnl::memory b16 = bf16_copy(*k, c, 1, plain(c.inputs[1].shape, rank));
  const md ad = with_type(a, dt::bf16), bd = with_type(b, dt::bf16);
  dnnl::matmul::primitive_desc pd(has_bias ? dnnl::matmul::desc(ad, bd, bias, y) : dnnl::matmul::desc(ad, bd, y), attr, engine());
  k->add(dnnl::matmul(pd), args);
  k->share(DNNL_ARG_SRC, dnnl::memory(ad, engine(), a16.get_data_handle()));
  k->share(DNNL_ARG_WEIGHTS, dnnl::memory(bd, engine(), b16.get_data_handle()));
  return k;
}

}  // namespace

void register_matmul_kernels(KernelRegistry& r) {
  // y = act(x w + b): the bias as matmul's bias argument, the activation as an eltwise post-op
  r.add_factory("linear", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const md x = plain(c.inputs[0].shape), w = plain(c.inputs[1].shape), y = plain(c.outputs[0].shape);
    const md b = plain(dims{1, c.inputs[2].shape[0]});
    return matmul_kernel(c, x, w, b, y, activation_post_op(c.attrs()));
  });
  r.add_factory("matmul", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const std::size_t rank = c.outputs[0].shape.rank();
    if (rank > DNNL_MAX_NDIMS) return nullptr;
    const md a = operand(c.inputs[0].shape, rank, c.attrs().get_int("transpose_a", 0) != 0);
    const md b = operand(c.inputs[1].shape, rank, c.attrs().get_int("transpose_b", 0) != 0);
    return matmul_kernel(c, a, b, md(), plain(c.outputs[0].shape, rank), dnnl::primitive_attr());
  });
}

}  // namespace symgrad::onednn
