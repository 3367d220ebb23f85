// oneDNN kernels of conv2d and its adjoints: convolution forward, backward data and backward
// weights (the backward primitives get the forward descriptor as their hint). The primitives
// choose their memory layouts (format_tag::any: blocked layouts run the fast JIT kernels, plain
// NCHW only a GEMM-based one); the plan's tensors stay plain NCHW / OIHW, so each kernel reorders
// into and out of the chosen layouts (into memories allocated once).

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

md any(const md& plain_md) { return md(plain_md.dims(), dnnl::memory::data_type::f32, tag::any); }

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

// One argument of a primitive: the plain descriptor of the plan's tensor, the layout the
// primitive chose, and where the tensor comes from.
struct Arg {
  int arg;
  md plain_md, chosen;
  Source source;
};

// Adds `prim` to `k`, reordering inputs into, and outputs out of, the chosen layouts.
void add_with_layouts(PrimitiveKernel& k, dnnl::primitive prim, const std::vector<Arg>& args) {
  std::vector<std::tuple<int, md, Source>> direct;
  std::vector<std::pair<int, dnnl::memory>> staged;
  std::vector<std::pair<const Arg*, dnnl::memory>> outputs;
  for (const Arg& a : args) {
    if (a.chosen == a.plain_md) {
      direct.push_back({a.arg, a.plain_md, a.source});
      continue;
    }
    dnnl::memory mem(a.chosen, engine());
    staged.push_back({a.arg, mem});
    if (a.source.kind == Source::input) {
      k.add(dnnl::reorder(dnnl::reorder::primitive_desc(engine(), a.plain_md, engine(), a.chosen)),
            {{DNNL_ARG_FROM, a.plain_md, a.source}});
      k.share(DNNL_ARG_TO, mem);
    } else {
      outputs.push_back({&a, mem});
    }
  }
  k.add(std::move(prim), direct);
  for (auto& [arg, mem] : staged) k.share(arg, mem);
  for (auto& [a, mem] : outputs) {
    k.add(dnnl::reorder(dnnl::reorder::primitive_desc(engine(), a->chosen, engine(), a->plain_md)),
          {{DNNL_ARG_TO, a->plain_md, a->source}});
    k.share(DNNL_ARG_FROM, mem);
  }
}

}  // namespace

void register_conv_kernels(OpRegistry& r) {
  // inputs (x, w) -> y
  r.add_factory("conv2d", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto s = conv_shapes(c.inputs[0].shape, c.inputs[1].shape, c.outputs[0].shape, c.attrs());
    auto pd = forward_pd(s);
    auto k = std::make_unique<PrimitiveKernel>();
    add_with_layouts(*k, dnnl::convolution_forward(pd),
                     {{DNNL_ARG_SRC, s.x, pd.src_desc(), in(0)},
                      {DNNL_ARG_WEIGHTS, s.w, pd.weights_desc(), in(1)},
                      {DNNL_ARG_DST, s.y, pd.dst_desc(), out(0)}});
    return k;
  });
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
                     {{DNNL_ARG_SRC, s.x, pd.src_desc(), in(0)},
                      {DNNL_ARG_WEIGHTS, s.w, pd.weights_desc(), in(1)},
                      {DNNL_ARG_BIAS, b, pd.bias_desc(), in(2)},
                      {DNNL_ARG_DST, s.y, pd.dst_desc(), out(0)}});
    return k;
  });
  // inputs (g, w, like_x) -> dx
  r.add_factory("conv2d_backward_data", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto s = conv_shapes(c.outputs[0].shape, c.inputs[1].shape, c.inputs[0].shape, c.attrs());
    dnnl::convolution_backward_data::primitive_desc pd(
        dnnl::convolution_backward_data::desc(algorithm::convolution_direct, s.ax, s.aw, s.ay, s.stride,
                                              s.pad, s.pad),
        engine(), forward_pd(s));
    auto k = std::make_unique<PrimitiveKernel>();
    add_with_layouts(*k, dnnl::convolution_backward_data(pd),
                     {{DNNL_ARG_DIFF_DST, s.y, pd.diff_dst_desc(), in(0)},
                      {DNNL_ARG_WEIGHTS, s.w, pd.weights_desc(), in(1)},
                      {DNNL_ARG_DIFF_SRC, s.x, pd.diff_src_desc(), out(0)}});
    return k;
  });
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
                     {{DNNL_ARG_SRC, s.x, pd.src_desc(), in(0)},
                      {DNNL_ARG_DIFF_DST, s.y, pd.diff_dst_desc(), in(1)},
                      {DNNL_ARG_DIFF_WEIGHTS, s.w, pd.diff_weights_desc(), out(0)}});
    return k;
  });
}

}  // namespace symgrad::onednn
