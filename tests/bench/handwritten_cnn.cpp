#include "handwritten_cnn.hpp"

#include "handwritten_common.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace symgrad::bench {
namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using md = memory::desc;
using dims = memory::dims;
using tag = memory::format_tag;
constexpr auto f32 = memory::data_type::f32;

md any(const dims& d) { return {d, f32, tag::any}; }
md plain(const dims& d) {
  static const tag tags[] = {tag::undef, tag::a, tag::ab, tag::abc, tag::abcd};
  return {d, f32, tags[d.size()]};
}
md transposed2(memory::dim r, memory::dim c) { return {{r, c}, f32, tag::ba}; }

using handwritten::Call;

}  // namespace

struct HandwrittenCnn::Impl {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::int64_t n;
  float lr;
  memory x;  // [n, 1, 28, 28], handle set per step
  memory ones;
  memory logits, dlogits;
  std::vector<Call> forward, backward;

  // `from` in the layout `want`: itself, or a memory that a reorder appended to `calls` fills
  memory in_layout(const memory& from, const md& want, std::vector<Call>& calls) {
    if (from.get_desc() == want) return from;
    memory to(want, eng);
    calls.push_back({dnnl::reorder(from, to), {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}});
    return to;
  }
  // A parameter stored in `stored` with models.cpp's values: He-scaled sin(0.37 i) over its plain
  // (row-major) elements, zeros for biases (fan_in 0).
  memory parameter(const dims& d, const md& stored, std::int64_t fan_in) {
    memory p(plain(d), eng);
    auto* v = static_cast<float*>(p.get_data_handle());
    const auto count = static_cast<std::int64_t>(p.get_desc().get_size() / sizeof(float));
    const float scale = fan_in > 0 ? std::sqrt(2.f / static_cast<float>(fan_in)) : 0.f;
    for (std::int64_t i = 0; i < count; ++i) v[i] = scale * std::sin(0.37f * static_cast<float>(i));
    memory s(stored, eng);
    dnnl::reorder(p, s).execute(strm, p, s);
    strm.wait();
    return s;
  }
  // p <- p - lr g, g first brought into p's layout
  void sgd(const memory& p, const memory& g) {
    const memory gp = in_layout(g, p.get_desc(), backward);
    dnnl::sum::primitive_desc pd(p.get_desc(), {1.f, -lr}, {p.get_desc(), gp.get_desc()}, eng);
    backward.push_back({dnnl::sum(pd), {{DNNL_ARG_MULTIPLE_SRC, p}, {DNNL_ARG_MULTIPLE_SRC + 1, gp}, {DNNL_ARG_DST, p}}});
  }
  static dnnl::primitive_attr relu_post_op() {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    return attr;
  }
  // y = relu(y) backward in place on dy, from y (relu's output)
  void relu_backward(const memory& y, const memory& dy) {
    dnnl::eltwise_forward::primitive_desc hint(
        dnnl::eltwise_forward::desc(prop_kind::forward_training, algorithm::eltwise_relu_use_dst_for_bwd,
                                    y.get_desc(), 0.f),
        eng);
    dnnl::eltwise_backward::primitive_desc pd(
        dnnl::eltwise_backward::desc(algorithm::eltwise_relu_use_dst_for_bwd, dy.get_desc(), y.get_desc(), 0.f),
        eng, hint);
    backward.push_back({dnnl::eltwise_backward(pd), {{DNNL_ARG_DST, y}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dy}}});
  }

  // A convolution layer with bias and ReLU (3x3, stride 1, no padding) and 2x2 max pooling.
  struct ConvBlock {
    dnnl::convolution_forward::primitive_desc conv;
    dnnl::pooling_forward::primitive_desc pool;
    memory src, w, b, y, pooled, workspace;
  };
  ConvBlock conv_block(const memory& in, std::int64_t c_in, std::int64_t c_out, std::int64_t size) {
    const std::int64_t out = size - 2, pooled = out / 2;
    ConvBlock l;
    l.conv = {dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                              any({n, c_in, size, size}), any({c_out, c_in, 3, 3}),
                                              plain({c_out}), any({n, c_out, out, out}), {1, 1}, {0, 0}, {0, 0}),
              relu_post_op(), eng};
    l.src = in_layout(in, l.conv.src_desc(), forward);
    l.w = parameter({c_out, c_in, 3, 3}, l.conv.weights_desc(), c_in * 9);
    l.b = parameter({c_out}, plain({c_out}), 0);
    l.y = memory(l.conv.dst_desc(), eng);
    forward.push_back({dnnl::convolution_forward(l.conv),
                       {{DNNL_ARG_SRC, l.src}, {DNNL_ARG_WEIGHTS, l.w}, {DNNL_ARG_BIAS, l.b}, {DNNL_ARG_DST, l.y}}});
    l.pool = {dnnl::pooling_forward::desc(prop_kind::forward_training, algorithm::pooling_max, l.y.get_desc(),
                                          any({n, c_out, pooled, pooled}), {2, 2}, {2, 2}, {0, 0}, {0, 0}),
              eng};
    l.pooled = memory(l.pool.dst_desc(), eng);
    l.workspace = memory(l.pool.workspace_desc(), eng);
    forward.push_back({dnnl::pooling_forward(l.pool),
                       {{DNNL_ARG_SRC, l.y}, {DNNL_ARG_DST, l.pooled}, {DNNL_ARG_WORKSPACE, l.workspace}}});
    return l;
  }
  // The block's backward from the gradient of its pooled output; returns the gradient of its input
  // (when `input_gradient`), after appending the SGD updates of its weights and bias.
  memory conv_block_backward(const ConvBlock& l, const memory& d_pooled, bool input_gradient) {
    dnnl::pooling_backward::primitive_desc pool(
        dnnl::pooling_backward::desc(algorithm::pooling_max, l.y.get_desc(), l.pooled.get_desc(), {2, 2}, {2, 2},
                                     {0, 0}, {0, 0}),
        eng, l.pool);
    const memory dy(pool.diff_src_desc(), eng);
    backward.push_back({dnnl::pooling_backward(pool), {{DNNL_ARG_DIFF_DST, in_layout(d_pooled, pool.diff_dst_desc(), backward)},
                                                       {DNNL_ARG_DIFF_SRC, dy}, {DNNL_ARG_WORKSPACE, l.workspace}}});
    relu_backward(l.y, dy);
    const md& x = l.conv.src_desc();
    const md& w = l.conv.weights_desc();
    dnnl::convolution_backward_weights::primitive_desc bw(
        dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, any(x.dims()), any(w.dims()),
                                                 plain({w.dims()[0]}), any(dy.get_desc().dims()), {1, 1}, {0, 0},
                                                 {0, 0}),
        eng, l.conv);
    const memory dw(bw.diff_weights_desc(), eng), db(bw.diff_bias_desc(), eng);
    backward.push_back({dnnl::convolution_backward_weights(bw),
                        {{DNNL_ARG_SRC, in_layout(l.src, bw.src_desc(), backward)},
                         {DNNL_ARG_DIFF_DST, in_layout(dy, bw.diff_dst_desc(), backward)},
                         {DNNL_ARG_DIFF_WEIGHTS, dw}, {DNNL_ARG_DIFF_BIAS, db}}});
    memory dx;
    if (input_gradient) {
      dnnl::convolution_backward_data::primitive_desc bd(
          dnnl::convolution_backward_data::desc(algorithm::convolution_direct, any(x.dims()), any(w.dims()),
                                                any(dy.get_desc().dims()), {1, 1}, {0, 0}, {0, 0}),
          eng, l.conv);
      dx = memory(bd.diff_src_desc(), eng);
      backward.push_back({dnnl::convolution_backward_data(bd),
                          {{DNNL_ARG_DIFF_DST, in_layout(dy, bd.diff_dst_desc(), backward)},
                           {DNNL_ARG_WEIGHTS, in_layout(l.w, bd.weights_desc(), backward)},
                           {DNNL_ARG_DIFF_SRC, dx}}});
    }
    sgd(l.w, dw);
    sgd(l.b, db);
    return dx;
  }

  // A dense layer y = act(h W + b) on plain [n, in] memory.
  struct Dense {
    memory h, w, b, y;
    std::int64_t in, out;
  };
  Dense dense(const memory& h, std::int64_t in, std::int64_t out, bool relu) {
    Dense l{h, parameter({in, out}, plain({in, out}), in), parameter({1, out}, plain({1, out}), 0),
            memory(plain({n, out}), eng), in, out};
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(plain({n, in}), plain({in, out}), plain({1, out}), plain({n, out})),
                                    relu ? relu_post_op() : dnnl::primitive_attr(), eng);
    forward.push_back({dnnl::matmul(pd), {{DNNL_ARG_SRC, l.h}, {DNNL_ARG_WEIGHTS, l.w}, {DNNL_ARG_BIAS, l.b}, {DNNL_ARG_DST, l.y}}});
    return l;
  }
  // From dy (the gradient of the pre-activation): dW = h^T dy, db = 1^T dy, dh = dy W^T; then SGD.
  memory dense_backward(const Dense& l, const memory& dy) {
    const memory dw(plain({l.in, l.out}), eng), db(plain({1, l.out}), eng), dh(plain({n, l.in}), eng);
    const memory h_t(transposed2(l.in, n), eng, l.h.get_data_handle());
    const memory w_t(transposed2(l.out, l.in), eng, l.w.get_data_handle());
    auto mm = [&](const memory& a, const memory& b, const memory& c) {
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a.get_desc(), b.get_desc(), c.get_desc()), eng);
      backward.push_back({dnnl::matmul(pd), {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}}});
    };
    mm(h_t, dy, dw);
    mm(memory(plain({1, n}), eng, ones.get_data_handle()), dy, db);
    mm(dy, w_t, dh);
    sgd(l.w, dw);
    sgd(l.b, db);
    return dh;
  }

  Impl(std::int64_t batch, float rate) : n(batch), lr(rate) {
    x = memory(plain({n, 1, 28, 28}), eng, DNNL_MEMORY_NONE);
    ones = memory(plain({1, n}), eng);
    std::fill_n(static_cast<float*>(ones.get_data_handle()), n, 1.f);
    const ConvBlock c1 = conv_block(x, 1, 32, 28);           // [n, 32, 13, 13]
    const ConvBlock c2 = conv_block(c1.pooled, 32, 64, 13);  // [n, 64, 5, 5]
    const memory flat4 = in_layout(c2.pooled, plain({n, 64, 5, 5}), forward);
    const memory flat(plain({n, 1600}), eng, flat4.get_data_handle());
    const Dense d1 = dense(flat, 1600, 128, true);
    const Dense d2 = dense(d1.y, 128, 10, false);
    logits = d2.y;
    dlogits = memory(plain({n, 10}), eng);
    const memory dh1 = dense_backward(d2, dlogits);
    relu_backward(d1.y, dh1);
    const memory dflat = dense_backward(d1, dh1);
    const memory dpooled2(plain({n, 64, 5, 5}), eng, dflat.get_data_handle());
    const memory dpooled1 = conv_block_backward(c2, dpooled2, true);
    conv_block_backward(c1, dpooled1, false);
  }

  float step(const float* input, const std::int32_t* labels) {
    x.set_data_handle(const_cast<float*>(input));
    return handwritten::step(strm, forward, backward, static_cast<const float*>(logits.get_data_handle()),
                             static_cast<float*>(dlogits.get_data_handle()), labels, n, 10);
  }
};

HandwrittenCnn::HandwrittenCnn(std::int64_t batch, float lr) : impl_(std::make_unique<Impl>(batch, lr)) {}
HandwrittenCnn::~HandwrittenCnn() = default;
float HandwrittenCnn::step(const float* x, const std::int32_t* labels) { return impl_->step(x, labels); }

}  // namespace symgrad::bench
