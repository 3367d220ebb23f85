// oneDNN kernels of conv2d and its adjoints: convolution forward, backward data and backward
// weights (the backward primitives get the forward descriptor as their hint). The primitives
// choose their memory layouts (format_tag::any: blocked layouts run the fast JIT kernels, plain
// NCHW only a GEMM-based one). Their inputs may arrive in a producer's blocked layout and their
// outputs stay in the chosen layout when every consumer accepts it (PrepareContext layouts);
// otherwise they are reordered from and to plain NCHW / OIHW (through memories allocated once).
// With bf16 operands (CompileOptions::precision) the primitives read x, w and the gradient g in
// bf16 (the reorders into their layouts round them; values a bf16 plan already stores in bf16 are
// read as they are) and accumulate in f32. dw is written in f32; y and dx in bf16 when they stay
// in the layout for consumers of this backend (stored_type), else in f32.

#include <string>

#include "context.hpp"

namespace symgrad::onednn {
namespace {

using dnnl::algorithm;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;

struct ConvShapes {
  md x, w, y;          // plain f32
  md ax, aw, ay;       // any: the primitive chooses; f32
  md ox, ow, oy;       // any, in the type the primitives read operands in (bf16 or f32)
  md sx, sy;           // any, in the type dx and y are stored in (stored_type of output 0)
  dims stride, pad;
};

ConvShapes conv_shapes(const PrepareContext& c, const Shape& x, const Shape& w, const Shape& y) {
  const auto& s = c.attrs().get_ints("stride");
  const auto& p = c.attrs().get_ints("padding");
  ConvShapes r{plain(x), plain(w), plain(y), {}, {}, {}, {}, {}, {}, {}, {}, dims(s.begin(), s.end()), dims(p.begin(), p.end())};
  r.ax = any(r.x);
  r.aw = any(r.w);
  r.ay = any(r.y);
  const auto t = bf16_operands(c) ? dnnl::memory::data_type::bf16 : dnnl::memory::data_type::f32;
  r.ox = with_type(r.ax, t);
  r.ow = with_type(r.aw, t);
  r.oy = with_type(r.ay, t);
  r.sx = with_type(r.ax, stored_type(c, 0, t));
  r.sy = with_type(r.ay, stored_type(c, 0, t));
  return r;
}

// The forward (x and w as operands, y as `y`): the forward kernel, and the backward primitives' hint.
dnnl::convolution_forward::primitive_desc forward_pd(const ConvShapes& s, const md& y) {
  return {dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                          s.ox, s.ow, y, s.stride, s.pad, s.pad),
          engine()};
}

}  // namespace

void register_conv_kernels(KernelRegistry& r) {
  // inputs (x, w) -> y
  r.add_factory("conv2d", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto s = conv_shapes(c, c.inputs[0].shape, c.inputs[1].shape, c.outputs[0].shape);
    auto pd = forward_pd(s, s.sy);
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
    auto s = conv_shapes(c, c.inputs[0].shape, c.inputs[1].shape, c.outputs[0].shape);
    const md b = plain(dims{c.inputs[1].shape[0]});  // [1, O, 1, 1] or [O, 1, 1]: the same bytes
    const dnnl::primitive_attr attr = activation_post_op(c.attrs());
    dnnl::convolution_forward::primitive_desc pd(
        dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, s.ox, s.ow, b,
                                        s.sy, s.stride, s.pad, s.pad),
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
    auto s = conv_shapes(c, c.outputs[0].shape, c.inputs[1].shape, c.inputs[0].shape);
    dnnl::convolution_backward_data::primitive_desc pd(
        dnnl::convolution_backward_data::desc(algorithm::convolution_direct, s.sx, s.ow, s.oy, s.stride,
                                              s.pad, s.pad),
        engine(), forward_pd(s, s.ay));
    auto k = std::make_unique<PrimitiveKernel>();
    add_with_layouts(*k, dnnl::convolution_backward_data(pd),
                     {{DNNL_ARG_DIFF_DST, stored_md(c, 0, s.y), pd.diff_dst_desc(), in(0)},
                      {DNNL_ARG_WEIGHTS, stored_md(c, 1, s.w), pd.weights_desc(), in(1)},
                      {DNNL_ARG_DIFF_SRC, s.x, pd.diff_src_desc(), out(0)}},
                     c);
    return k;
  }, {0, 1, 2});
  // inputs (x, g, like_w) -> dw; conv2d_backward_filter_bias: (x, g, like_w, like_b) -> (dw, db),
  // the bias gradient from the same primitive (db [1, O, 1, 1], [O, 1, 1] or [O]: the bytes of [O])
  for (const bool bias : {false, true}) {
    r.add_factory(bias ? "conv2d_backward_filter_bias" : "conv2d_backward_filter", kBackend,
                  [bias](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
      SYMGRAD_ONEDNN_F32_ONLY(c);
      auto s = conv_shapes(c, c.inputs[0].shape, c.inputs[2].shape, c.inputs[1].shape);
      const md b = bias ? plain(dims{c.inputs[2].shape[0]}) : md();
      dnnl::convolution_backward_weights::primitive_desc pd(
          bias ? dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, s.ox, s.aw, b, s.oy,
                                                          s.stride, s.pad, s.pad)
               : dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, s.ox, s.aw, s.oy,
                                                          s.stride, s.pad, s.pad),
          engine(), forward_pd(s, s.ay));
      auto k = std::make_unique<PrimitiveKernel>();
      std::vector<LayoutArg> args = {{DNNL_ARG_SRC, stored_md(c, 0, s.x), pd.src_desc(), in(0)},
                                     {DNNL_ARG_DIFF_DST, stored_md(c, 1, s.y), pd.diff_dst_desc(), in(1)},
                                     {DNNL_ARG_DIFF_WEIGHTS, s.w, pd.diff_weights_desc(), out(0)}};
      if (bias) args.push_back({DNNL_ARG_DIFF_BIAS, b, pd.diff_bias_desc(), out(1)});
      add_with_layouts(*k, dnnl::convolution_backward_weights(pd), args, c);
      return k;
    }, bias ? std::set<int>{0, 1, 2, 3} : std::set<int>{0, 1, 2});
  }
}

}  // namespace symgrad::onednn
