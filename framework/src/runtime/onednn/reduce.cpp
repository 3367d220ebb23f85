// oneDNN kernels of reductions: sum, mean and max over axes, and sum_to_like (the sum over
// broadcast axes that gradients use), all on the reduction primitive.

#include <cstring>

#include "../../ops/op_helpers.hpp"
#include "context.hpp"

namespace symgrad::onednn {
namespace {

using dnnl::algorithm;

// dst (keepdims form `to`, same rank as `from`) = reduce(src). Equal shapes copy.
std::unique_ptr<PreparedKernel> reduce_to(algorithm alg, const Shape& from, const Shape& to) {
  auto k = std::make_unique<PrimitiveKernel>();
  const std::size_t rank = std::max<std::size_t>(from.rank(), 1);
  const md src = plain(from, rank), dst = plain(to, rank);
  if (src.dims() == dst.dims()) {
    k->add_host([](const KernelContext& ctx) { std::memcpy(ctx.out().raw(), ctx.in(0).raw(), ctx.out().nbytes()); });
    return k;
  }
  dnnl::reduction::primitive_desc pd(dnnl::reduction::desc(alg, src, dst, 0.f, 0.f), engine());
  k->add(dnnl::reduction(pd), {{DNNL_ARG_SRC, src, in(0)}, {DNNL_ARG_DST, dst, out(0)}});
  return k;
}

KernelFactory reduction(algorithm alg) {
  return [alg](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const Shape& x = c.inputs[0].shape;
    if (x.numel() == 0) return nullptr;
    auto axes = ops_detail::reduction_axes(c.attrs().get_ints("axes"), x.rank());
    return reduce_to(alg, x, ops_detail::reduced_shape(x, axes, true));
  };
}

}  // namespace

void register_reduce_kernels(OpRegistry& r) {
  r.add_factory("sum", kBackend, reduction(algorithm::reduction_sum));
  r.add_factory("mean", kBackend, reduction(algorithm::reduction_mean));
  r.add_factory("max", kBackend, reduction(algorithm::reduction_max));
  r.add_factory("sum_to_like", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const Shape& x = c.inputs[0].shape;
    if (x.numel() == 0) return nullptr;
    return reduce_to(algorithm::reduction_sum, x, Shape(dims_of(c.outputs[0].shape, x.rank())));
  });
}

}  // namespace symgrad::onednn
