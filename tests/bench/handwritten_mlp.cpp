#include "handwritten_mlp.hpp"

#include "handwritten_common.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

namespace symgrad::bench {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
constexpr auto f32 = memory::data_type::f32;

memory::desc plain2(memory::dim r, memory::dim c) { return {{r, c}, f32, tag::ab}; }
memory::desc transposed2(memory::dim r, memory::dim c) { return {{r, c}, f32, tag::ba}; }

using handwritten::Call;

}  // namespace

struct HandwrittenMlp::Impl {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::int64_t batch;
  std::vector<std::int64_t> widths;
  memory x;                             // input, handle set per step
  memory ones;                          // [1, batch] of ones: bias gradients as matmuls
  std::vector<memory> w, b, dw, db;     // per layer
  std::vector<memory> h;                // h[0] = x, h[l] = activation of layer l
  std::vector<memory> dh;               // gradient w.r.t. h[l] (pre-activation after relu bwd)
  std::vector<Call> forward, backward;

  Impl(std::vector<std::int64_t> ws, std::int64_t n, float lr) : batch(n), widths(std::move(ws)) {
    const std::size_t layers = widths.size() - 1;
    x = memory(plain2(n, widths[0]), eng, DNNL_MEMORY_NONE);
    ones = memory(plain2(1, n), eng);
    std::fill_n(static_cast<float*>(ones.get_data_handle()), n, 1.f);
    h.push_back(x);
    for (std::size_t l = 0; l < layers; ++l) {
      const auto in = widths[l], out = widths[l + 1];
      w.emplace_back(plain2(in, out), eng);
      b.emplace_back(memory::desc({1, out}, f32, tag::ab), eng);
      dw.emplace_back(plain2(in, out), eng);
      db.emplace_back(memory::desc({1, out}, f32, tag::ab), eng);
      h.emplace_back(plain2(n, out), eng);
      dh.emplace_back(plain2(n, out), eng);
      auto* pw = static_cast<float*>(w.back().get_data_handle());
      const float scale = std::sqrt(2.f / static_cast<float>(in));
      for (std::int64_t i = 0; i < in * out; ++i) pw[i] = scale * std::sin(0.37f * static_cast<float>(i));
      std::memset(b.back().get_data_handle(), 0, static_cast<std::size_t>(out) * 4);
      // forward: h[l+1] = relu(h[l] W + b), the last layer without relu
      dnnl::primitive_attr attr;
      if (l + 1 < layers) {
        dnnl::post_ops ops;
        ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
        attr.set_post_ops(ops);
      }
      dnnl::matmul::primitive_desc pd(
          dnnl::matmul::desc(plain2(n, in), plain2(in, out), b.back().get_desc(), plain2(n, out)), attr, eng);
      forward.push_back({dnnl::matmul(pd), {{DNNL_ARG_SRC, h[l]}, {DNNL_ARG_WEIGHTS, w[l]},
                                            {DNNL_ARG_BIAS, b[l]}, {DNNL_ARG_DST, h[l + 1]}}});
    }
    // backward, last layer first: dW = h^T dh, db = sum(dh), dh_prev = relu'(h_prev) * (dh W^T)
    for (std::size_t l = layers; l-- > 0;) {
      const auto in = widths[l], out = widths[l + 1];
      dnnl::matmul::primitive_desc dw_pd(
          dnnl::matmul::desc(transposed2(in, n), plain2(n, out), plain2(in, out)), eng);
      backward.push_back({dnnl::matmul(dw_pd), {{DNNL_ARG_SRC, h[l]}, {DNNL_ARG_WEIGHTS, dh[l]},
                                                {DNNL_ARG_DST, dw[l]}}});
      // db = 1^T dh as a matmul (oneDNN 2.6's reduction primitive runs its reference code here)
      dnnl::matmul::primitive_desc db_pd(dnnl::matmul::desc(plain2(1, n), plain2(n, out), plain2(1, out)), eng);
      backward.push_back({dnnl::matmul(db_pd), {{DNNL_ARG_SRC, ones}, {DNNL_ARG_WEIGHTS, dh[l]}, {DNNL_ARG_DST, db[l]}}});
      if (l > 0) {
        dnnl::matmul::primitive_desc dx_pd(
            dnnl::matmul::desc(plain2(n, out), transposed2(out, in), plain2(n, in)), eng);
        backward.push_back({dnnl::matmul(dx_pd), {{DNNL_ARG_SRC, dh[l]}, {DNNL_ARG_WEIGHTS, w[l]},
                                                  {DNNL_ARG_DST, dh[l - 1]}}});
        dnnl::eltwise_forward::primitive_desc hint(
            dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training,
                                        dnnl::algorithm::eltwise_relu_use_dst_for_bwd, plain2(n, in), 0.f),
            eng);
        dnnl::eltwise_backward::primitive_desc relu_pd(
            dnnl::eltwise_backward::desc(dnnl::algorithm::eltwise_relu_use_dst_for_bwd, plain2(n, in),
                                         plain2(n, in), 0.f),
            eng, hint);
        backward.push_back({dnnl::eltwise_backward(relu_pd), {{DNNL_ARG_DST, h[l]}, {DNNL_ARG_DIFF_DST, dh[l - 1]},
                                                              {DNNL_ARG_DIFF_SRC, dh[l - 1]}}});
      }
      // SGD: W <- W - lr dW, b <- b - lr db (sum primitive, in place)
      for (auto [p, g] : {std::pair{w[l], dw[l]}, std::pair{b[l], db[l]}}) {
        dnnl::sum::primitive_desc sum_pd(p.get_desc(), {1.f, -lr}, {p.get_desc(), g.get_desc()}, eng);
        backward.push_back({dnnl::sum(sum_pd), {{DNNL_ARG_MULTIPLE_SRC, p}, {DNNL_ARG_MULTIPLE_SRC + 1, g},
                                                {DNNL_ARG_DST, p}}});
      }
    }
  }

  float step(const float* input, const std::int32_t* labels) {
    x.set_data_handle(const_cast<float*>(input));
    return handwritten::step(strm, forward, backward, static_cast<const float*>(h.back().get_data_handle()),
                             static_cast<float*>(dh.back().get_data_handle()), labels, batch, widths.back());
  }
};

HandwrittenMlp::HandwrittenMlp(std::vector<std::int64_t> widths, std::int64_t batch, float lr)
    : impl_(std::make_unique<Impl>(std::move(widths), batch, lr)) {}
HandwrittenMlp::~HandwrittenMlp() = default;
float HandwrittenMlp::step(const float* x, const std::int32_t* labels) { return impl_->step(x, labels); }

}  // namespace symgrad::bench
