// oneDNN kernels of conv2d and its adjoints: convolution forward, backward data and backward
// weights (the backward primitives get the forward descriptor as their hint). The primitives
// choose their memory layouts (format_tag::any: blocked layouts run the fast JIT kernels, plain
// NCHW only a GEMM-based one). Their inputs may arrive in a producer's blocked layout and their
// outputs stay in the chosen layout when every consumer accepts it (PrepareContext layouts);
// otherwise they are reordered from and to plain NCHW / OIHW (through memories allocated once).

#include <string>

#include "context.hpp"

namespace symgrad::onednn {
namespace {

using dnnl::algorithm;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;

struct ConvShapes {
  md x, w, y;          // plain
  md ax, aw, ay;       // any: the primitive chooses
  dims stride, pad;
};

ConvShapes conv_shapes(const Shape& x, const Shape& w, const Shape& y, const Attrs& a) {
  const auto& s = a.get_ints("stride");
  const auto& p = a.get_ints("padding");
  ConvShapes c{plain(x), plain(w), plain(y), {}, {}, {}, dims(s.begin(), s.end()), dims(p.begin(), p.end())};
  c.ax = any(c.x);
  c.aw = any(c.w);
  c.ay = any(c.y);
  return c;
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvShapes& s) {
  return {dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                          s.ax, s.aw, s.ay, s.stride, s.pad, s.pad),
          engine()};
}

}  // namespace

void register_conv_kernels(KernelRegistry& r) {
  // inputs (x, w) -> y
  r.add_factory("conv2d", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto s = conv_shapes(c.inputs[0].shape, c.inputs[1].shape, c.outputs[0].shape, c.attrs());
    auto pd = forward_pd(s);
    auto k = std::make_unique<PrimitiveKernel>();
    add_with_layouts(*k, dnnl::convolution_forward(pd),
                     {{DNNL_ARG_SRC, stored_md(c, 0, s.x), pd.src_desc(), in(0)},
                      {DNNL_ARG_WEIGHTS, stored_md(c, 1, s.w), pd.weights_desc(), in(1)},
                      {DNNL_ARG_DST, s.y, pd.dst_desc(), out(0)}},
                     c);
    return k;
  }, {0, 1});
  // inputs (x, w, b) -> act(conv(x, w) + b): the bias argument and an eltwise post-op
  r.add_factory("conv2d_bias", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto s = conv_shapes(c.inputs[0].shape, c.inputs[1].shape, c.outputs[0].shape, c.attrs());
    const md b = plain(dims{c.inputs[1].shape[0]});  // [1, O, 1, 1] or [O, 1, 1]: the same bytes
    const dnnl::primitive_attr attr = activation_post_op(c.attrs());
    dnnl::convolution_forward::primitive_desc pd(
        dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, s.ax, s.aw, b,
                                        s.ay, s.stride, s.pad, s.pad),
        attr, engine());
    auto k = std::make_unique<PrimitiveKernel>();
    add_with_layouts(*k, dnnl::convolution_forward(pd),
                     {{DNNL_ARG_SRC, stored_md(c, 0, s.x), pd.src_desc(), in(0)},
                      {DNNL_ARG_WEIGHTS, stored_md(c, 1, s.w), pd.weights_desc(), in(1)},
                      {DNNL_ARG_BIAS, b, pd.bias_desc(), in(2)},
                      {DNNL_ARG_DST, s.y, pd.dst_desc(), out(0)}},
                     c);
    return k;
  }, {0, 1});
  // inputs (g, w, like_x) -> dx (like_x only gives the shape: any layout will do)
  r.add_factory("conv2d_backward_data", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto s = conv_shapes(c.outputs[0].shape, c.inputs[1].shape, c.inputs[0].shape, c.attrs());
    dnnl::convolution_backward_data::primitive_desc pd(
        dnnl::convolution_backward_data::desc(algorithm::convolution_direct, s.ax, s.aw, s.ay, s.stride,
                                              s.pad, s.pad),
        engine(), forward_pd(s));
    auto k = std::make_unique<PrimitiveKernel>();
    add_with_layouts(*k, dnnl::convolution_backward_data(pd),
                     {{DNNL_ARG_DIFF_DST, stored_md(c, 0, s.y), pd.diff_dst_desc(), in(0)},
                      {DNNL_ARG_WEIGHTS, stored_md(c, 1, s.w), pd.weights_desc(), in(1)},
                      {DNNL_ARG_DIFF_SRC, s.x, pd.diff_src_desc(), out(0)}},
                     c);
    return k;
  }, {0, 1, 2});
  // inputs (x, g, like_w) -> dw
  r.add_factory("conv2d_backward_filter", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto s = conv_shapes(c.inputs[0].shape, c.outputs[0].shape, c.inputs[1].shape, c.attrs());
    dnnl::convolution_backward_weights::primitive_desc pd(
        dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, s.ax, s.aw, s.ay,
                                                 s.stride, s.pad, s.pad),
        engine(), forward_pd(s));
    auto k = std::make_unique<PrimitiveKernel>();
    add_with_layouts(*k, dnnl::convolution_backward_weights(pd),
                     {{DNNL_ARG_SRC, stored_md(c, 0, s.x), pd.src_desc(), in(0)},
                      {DNNL_ARG_DIFF_DST, stored_md(c, 1, s.y), pd.diff_dst_desc(), in(1)},
                      {DNNL_ARG_DIFF_WEIGHTS, s.w, pd.diff_weights_desc(), out(0)}},
                     c);
    return k;
  }, {0, 1, 2});
}

}  // namespace symgrad::onednn
