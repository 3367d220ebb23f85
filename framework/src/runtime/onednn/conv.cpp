// oneDNN kernels of conv2d and its adjoints: convolution forward, backward data and backward
// weights (the backward primitives get the forward descriptor as their hint). Tensors stay in
// plain NCHW / OIHW at the plan's boundaries.

#include "context.hpp"

namespace symgrad::onednn {
namespace {

using dnnl::algorithm;
using dnnl::prop_kind;

struct ConvShapes {
  md x, w, y;
  dims stride, pad;
};

ConvShapes conv_shapes(const Shape& x, const Shape& w, const Shape& y, const Attrs& a) {
  const auto& s = a.get_ints("stride");
  const auto& p = a.get_ints("padding");
  return {plain(x), plain(w), plain(y), dims(s.begin(), s.end()), dims(p.begin(), p.end())};
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvShapes& s) {
  return {dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                          s.x, s.w, s.y, s.stride, s.pad, s.pad),
          engine()};
}

}  // namespace

void register_conv_kernels(OpRegistry& r) {
  // inputs (x, w) -> y
  r.add_factory("conv2d", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto s = conv_shapes(c.inputs[0].shape, c.inputs[1].shape, c.outputs[0].shape, c.attrs());
    auto k = std::make_unique<PrimitiveKernel>();
    k->add(dnnl::convolution_forward(forward_pd(s)),
           {{DNNL_ARG_SRC, s.x, in(0)}, {DNNL_ARG_WEIGHTS, s.w, in(1)}, {DNNL_ARG_DST, s.y, out(0)}});
    return k;
  });
  // inputs (g, w, like_x) -> dx
  r.add_factory("conv2d_backward_data", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto s = conv_shapes(c.outputs[0].shape, c.inputs[1].shape, c.inputs[0].shape, c.attrs());
    dnnl::convolution_backward_data::primitive_desc pd(
        dnnl::convolution_backward_data::desc(algorithm::convolution_direct, s.x, s.w, s.y, s.stride,
                                              s.pad, s.pad),
        engine(), forward_pd(s));
    auto k = std::make_unique<PrimitiveKernel>();
    k->add(dnnl::convolution_backward_data(pd),
           {{DNNL_ARG_DIFF_DST, s.y, in(0)}, {DNNL_ARG_WEIGHTS, s.w, in(1)}, {DNNL_ARG_DIFF_SRC, s.x, out(0)}});
    return k;
  });
  // inputs (x, g, like_w) -> dw
  r.add_factory("conv2d_backward_filter", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto s = conv_shapes(c.inputs[0].shape, c.outputs[0].shape, c.inputs[1].shape, c.attrs());
    dnnl::convolution_backward_weights::primitive_desc pd(
        dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, s.x, s.w, s.y,
                                                 s.stride, s.pad, s.pad),
        engine(), forward_pd(s));
    auto k = std::make_unique<PrimitiveKernel>();
    k->add(dnnl::convolution_backward_weights(pd),
           {{DNNL_ARG_SRC, s.x, in(0)}, {DNNL_ARG_DIFF_DST, s.y, in(1)}, {DNNL_ARG_DIFF_WEIGHTS, s.w, out(0)}});
    return k;
  });
}

}  // namespace symgrad::onednn
