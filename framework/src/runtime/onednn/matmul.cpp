// oneDNN kernel of matmul. Transposed operands are read through memory descriptors with swapped
// strides (oneDNN has no matmul backward: gradients are matmuls of transposed descriptors), and
// batch dimensions broadcast as oneDNN's matmul allows (size-1 batch dimensions).

#include "context.hpp"

namespace symgrad::onednn {
namespace {

// Descriptor of op(x) with x's plain memory: dims [..., r, c] of x, swapped when transposed.
md operand(const Shape& s, std::size_t rank, bool transposed) {
  dims d = dims_of(s, rank);
  dims st = plain_strides(d);
  if (transposed) {
    std::swap(d[rank - 1], d[rank - 2]);
    std::swap(st[rank - 1], st[rank - 2]);
  }
  return md(d, dnnl::memory::data_type::f32, st);
}

}  // namespace

void register_matmul_kernels(KernelRegistry& r) {
  // y = act(x w + b): the bias as matmul's bias argument, the activation as an eltwise post-op
  r.add_factory("linear", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const md x = plain(c.inputs[0].shape), w = plain(c.inputs[1].shape), y = plain(c.outputs[0].shape);
    const md b = plain(dims{1, c.inputs[2].shape[0]});
    const dnnl::primitive_attr attr = activation_post_op(c.attrs());
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(x, w, b, y), attr, engine());
    auto k = std::make_unique<PrimitiveKernel>();
    k->add(dnnl::matmul(pd), {{DNNL_ARG_SRC, x, in(0)}, {DNNL_ARG_WEIGHTS, w, in(1)}, {DNNL_ARG_BIAS, b, in(2)},
                              {DNNL_ARG_DST, y, out(0)}});
    return k;
  });
  r.add_factory("matmul", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const std::size_t rank = c.outputs[0].shape.rank();
    if (rank > DNNL_MAX_NDIMS) return nullptr;
    const md a = operand(c.inputs[0].shape, rank, c.attrs().get_int("transpose_a", 0) != 0);
    const md b = operand(c.inputs[1].shape, rank, c.attrs().get_int("transpose_b", 0) != 0);
    const md y = plain(c.outputs[0].shape, rank);
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, y), engine());
    auto k = std::make_unique<PrimitiveKernel>();
    k->add(dnnl::matmul(pd), {{DNNL_ARG_SRC, a, in(0)}, {DNNL_ARG_WEIGHTS, b, in(1)}, {DNNL_ARG_DST, y, out(0)}});
    return k;
  });
}

}  // namespace symgrad::onednn
