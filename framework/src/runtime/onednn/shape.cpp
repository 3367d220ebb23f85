// oneDNN kernels of shape ops: transpose and slice are reorders from strided or sub-memory
// descriptors, concat is the concat primitive, reshape a copy.

#include <cstring>

#include "context.hpp"

namespace symgrad::onednn {
namespace {

dnnl::reorder::primitive_desc reorder_pd(const md& from, const md& to) {
  return {engine(), from, engine(), to};
}

void copy_kernel(PrimitiveKernel& k) {
  k.add_host([](const KernelContext& ctx) { std::memcpy(ctx.out().raw(), ctx.in(0).raw(), ctx.out().nbytes()); });
}

}  // namespace

void register_shape_kernels(KernelRegistry& r) {
  r.add_factory("reshape", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto k = std::make_unique<PrimitiveKernel>();
    copy_kernel(*k);
    return k;
  });
  // y[i...] = x[perm(i)...]: read x through its strides permuted
  r.add_factory("transpose", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const Shape& x = c.inputs[0].shape;
    if (x.rank() == 0 || x.numel() == 0) return nullptr;
    const auto& perm = c.attrs().get_ints("perm");
    const dims xs = plain_strides(dims_of(x));
    dims d, st;
    for (auto p : perm) {
      d.push_back(x[static_cast<std::size_t>(p)]);
      st.push_back(xs[static_cast<std::size_t>(p)]);
    }
    const md from(d, dnnl::memory::data_type::f32, st);
    const md to = plain(d);
    auto k = std::make_unique<PrimitiveKernel>();
    k->add(dnnl::reorder(reorder_pd(from, to)), {{DNNL_ARG_FROM, from, in(0)}, {DNNL_ARG_TO, to, out(0)}});
    return k;
  });
  r.add_factory("concat", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const Shape& y = c.outputs[0].shape;
    if (y.rank() == 0 || y.numel() == 0) return nullptr;
    std::vector<md> srcs;
    std::vector<std::tuple<int, md, Source>> args;
    for (std::size_t i = 0; i < c.inputs.size(); ++i) {
      if (c.inputs[i].shape.numel() == 0) return nullptr;
      srcs.push_back(plain(c.inputs[i].shape));
      args.push_back({DNNL_ARG_MULTIPLE_SRC + static_cast<int>(i), srcs.back(), in(static_cast<int>(i))});
    }
    const md dst = plain(y);
    args.push_back({DNNL_ARG_DST, dst, out(0)});
    const int axis = static_cast<int>(normalize_axis(c.attrs().get_int("axis"), y.rank()));
    dnnl::concat::primitive_desc pd(dst, axis, srcs, engine());
    auto k = std::make_unique<PrimitiveKernel>();
    k->add(dnnl::concat(pd), args);
    return k;
  });
  // y = the sub-memory of x at `begins`
  r.add_factory("slice", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const Shape& y = c.outputs[0].shape;
    if (y.rank() == 0 || y.numel() == 0) return nullptr;
    const auto& b = c.attrs().get_ints("begins");
    const md from = plain(c.inputs[0].shape).submemory_desc(dims_of(y), dims(b.begin(), b.end()));
    const md to = plain(y);
    auto k = std::make_unique<PrimitiveKernel>();
    k->add(dnnl::reorder(reorder_pd(from, to)), {{DNNL_ARG_FROM, from, in(0)}, {DNNL_ARG_TO, to, out(0)}});
    return k;
  });
  // y = zeros of like's shape, with g written into the sub-memory at `begins`
  r.add_factory("slice_grad", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const Shape& g = c.inputs[0].shape;
    if (g.rank() == 0 || g.numel() == 0) return nullptr;
    const auto& b = c.attrs().get_ints("begins");
    const md from = plain(g);
    const md to = plain(c.outputs[0].shape).submemory_desc(dims_of(g), dims(b.begin(), b.end()));
    auto k = std::make_unique<PrimitiveKernel>();
    k->add_host([](const KernelContext& ctx) { std::memset(ctx.out().raw(), 0, ctx.out().nbytes()); });
    k->add(dnnl::reorder(reorder_pd(from, to)), {{DNNL_ARG_FROM, from, in(0)}, {DNNL_ARG_TO, to, out(0)}});
    return k;
  });
}

}  // namespace symgrad::onednn
