// oneDNN kernels of elementwise ops: eltwise primitives for the unary ops, binary primitives
// (with broadcasting of the second operand) for arithmetic, comparisons, dropout and
// broadcasting. sign, where, cast and fill_like have no primitive and use the fallback.

#include <immintrin.h>

#include <cstring>

#include "context.hpp"

namespace symgrad::onednn {
namespace {

using dnnl::algorithm;
using dnnl::prop_kind;

// y = eltwise(alg, alpha, beta)(x); alpha/beta may read attributes. Runs in x's layout (a
// convolution's or batch normalization's blocked one, or plain); y stays in it when the consumers
// accept it, and is reordered to plain otherwise.
KernelFactory eltwise(algorithm alg, std::function<std::pair<float, float>(const Attrs&)> params) {
  return [alg, params](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto [alpha, beta] = params(c.attrs());
    const md p = plain(c.inputs[0].shape);
    const md d = stored_md(c, 0, p);
    dnnl::eltwise_forward::primitive_desc pd(
        dnnl::eltwise_forward::desc(prop_kind::forward_inference, alg, d, alpha, beta), engine());
    auto k = std::make_unique<PrimitiveKernel>();
    add_with_layouts(*k, dnnl::eltwise_forward(pd),
                     {{DNNL_ARG_SRC, d, d, in(0)}, {DNNL_ARG_DST, p, pd.dst_desc(), out(0)}}, c);
    return k;
  };
}

std::function<std::pair<float, float>(const Attrs&)> fixed(float alpha, float beta = 0.f) {
  return [alpha, beta](const Attrs&) { return std::pair{alpha, beta}; };
}

// With the operands swapped, which algorithm gives the same result (none: not swappable).
std::optional<algorithm> swapped(algorithm a) {
  switch (a) {
    case algorithm::binary_add: case algorithm::binary_mul: case algorithm::binary_eq:
    case algorithm::binary_ne: return a;
    case algorithm::binary_lt: return algorithm::binary_gt;
    case algorithm::binary_gt: return algorithm::binary_lt;
    case algorithm::binary_le: return algorithm::binary_ge;
    case algorithm::binary_ge: return algorithm::binary_le;
    default: return std::nullopt;
  }
}

// Adds y = a (alg) b with NumPy broadcasting. oneDNN broadcasts only its second source: a
// broadcast first operand is swapped with the second where the algorithm allows, and otherwise
// broadcast into y first (y = 0; y += a), after which y = y (alg) b runs in place.
void add_binary(PrimitiveKernel& k, algorithm alg, Source a, const Shape& sa, Source b,
                const Shape& sb, const Shape& sy, const dnnl::primitive_attr& attr = {}) {
  const std::size_t rank = std::max<std::size_t>(sy.rank(), 1);
  const md dy = plain(sy, rank);
  md da = plain(sa, rank), db = plain(sb, rank);
  if (da.dims() != dy.dims()) {
    auto s = swapped(alg);
    if (s && db.dims() == dy.dims()) {
      alg = *s;
      std::swap(a, b);
      std::swap(da, db);
    } else {
      k.add_host([](const KernelContext& ctx) { std::memset(ctx.out().raw(), 0, ctx.out().nbytes()); });
      dnnl::binary::primitive_desc pd(dnnl::binary::desc(algorithm::binary_add, dy, da, dy), engine());
      k.add(dnnl::binary(pd), {{DNNL_ARG_SRC_0, dy, out(0)}, {DNNL_ARG_SRC_1, da, a}, {DNNL_ARG_DST, dy, out(0)}});
      a = out(0);
      da = dy;
    }
  }
  dnnl::binary::primitive_desc pd(dnnl::binary::desc(alg, da, db, dy), attr, engine());
  k.add(dnnl::binary(pd), {{DNNL_ARG_SRC_0, da, a}, {DNNL_ARG_SRC_1, db, b}, {DNNL_ARG_DST, dy, out(0)}});
}

KernelFactory binary(algorithm alg) {
  return [alg](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto k = std::make_unique<PrimitiveKernel>();
    add_binary(*k, alg, in(0), c.inputs[0].shape, in(1), c.inputs[1].shape, c.outputs[0].shape);
    return k;
  };
}

// y = x broadcast to y's shape: y = 0, then y += x (binary add in place, x broadcast).
std::unique_ptr<PreparedKernel> broadcast(const PrepareContext& c) {
  SYMGRAD_ONEDNN_F32_ONLY(c);
  auto k = std::make_unique<PrimitiveKernel>();
  k->add_host([](const KernelContext& ctx) { std::memset(ctx.out().raw(), 0, ctx.out().nbytes()); });
  const Shape& sy = c.outputs[0].shape;
  const std::size_t rank = std::max<std::size_t>(sy.rank(), 1);
  const md dy = plain(sy, rank), dx = plain(c.inputs[0].shape, rank);
  dnnl::binary::primitive_desc pd(dnnl::binary::desc(algorithm::binary_add, dy, dx, dy), engine());
  k->add(dnnl::binary(pd), {{DNNL_ARG_SRC_0, dy, out(0)}, {DNNL_ARG_SRC_1, dx, in(0)}, {DNNL_ARG_DST, dy, out(0)}});
  return k;
}

// dx = (y > 0 ? g : 0) on bf16 values (n of them; dx may be g): a select on the bits, as signed
// 16-bit integers (positive bf16 numbers are the positive integers; -0 and negatives are not).
// oneDNN 2.6's bf16 eltwise backward (jit:avx512_core_bf16) took as long as the f32 one on half
// the bytes (docs/performance.md, "Mixed precision"). Plans hold bf16 values only on CPUs with
// AVX512_BF16 (native_bf16), which have AVX512BW.
__attribute__((target("avx512f,avx512bw"))) void relu_backward_bf16_avx512(const std::uint16_t* g,
                                                                          const std::uint16_t* y,
                                                                          std::uint16_t* dx, std::int64_t n) {
  const std::int64_t whole = n / 32 * 32;
  for (std::int64_t i = 0; i < whole; i += 32) {
    const __mmask32 positive = _mm512_cmpgt_epi16_mask(_mm512_loadu_si512(y + i), _mm512_setzero_si512());
    _mm512_storeu_si512(dx + i, _mm512_maskz_mov_epi16(positive, _mm512_loadu_si512(g + i)));
  }
  for (std::int64_t i = whole; i < n; ++i) dx[i] = static_cast<std::int16_t>(y[i]) > 0 ? g[i] : 0;
}

void relu_backward_bf16(const std::uint16_t* g, const std::uint16_t* y, std::uint16_t* dx, std::int64_t n) {
  in_chunks(n, std::int64_t{1} << 15, [&](std::int64_t b, std::int64_t m) {
    relu_backward_bf16_avx512(g + b, y + b, dx + b, m);
  });
}

// dx = g * act'(from the output y): eltwise backward with a *_use_dst_for_bwd algorithm, the
// training forward as its hint. Runs in y's layout (a convolution's blocked one, or plain); g is
// reordered to it if it differs. ReLU's gradient of bf16 values (a bf16 plan's activations) that
// stays in y's layout runs relu_backward_bf16 instead.
KernelFactory eltwise_backward(algorithm alg) {
  return [alg](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const md p = plain(c.inputs[0].shape);
    const md d = stored_md(c, 1, stored_md(c, 0, p));
    if (alg == algorithm::eltwise_relu_use_dst_for_bwd && d.data_type() == dnnl::memory::data_type::bf16 &&
        c.may_use_layout(0)) {
      auto k = std::make_unique<PrimitiveKernel>();
      const md g = stored_md(c, 0, p);
      // g in y's layout: as stored, or a copy made once per run
      const bool copied = !(g == d);
      const dnnl::memory copy = copied ? input_in(*k, c, 0, g, d) : dnnl::memory();
      const auto n = static_cast<std::int64_t>(d.get_size() / sizeof(std::uint16_t));
      k->add_host([copied, copy, n](const KernelContext& ctx) {
        const void* gp = copied ? copy.get_data_handle() : ctx.in(0).raw();
        relu_backward_bf16(static_cast<const std::uint16_t*>(gp), static_cast<const std::uint16_t*>(ctx.in(1).raw()),
                           static_cast<std::uint16_t*>(ctx.out(0).raw()), n);
      });
      (*c.output_layouts)[0] = make_layout(d);
      return k;
    }
    dnnl::eltwise_forward::primitive_desc hint(
        dnnl::eltwise_forward::desc(prop_kind::forward_training, alg, d, 0.f, 0.f), engine());
    dnnl::eltwise_backward::primitive_desc pd(dnnl::eltwise_backward::desc(alg, d, d, 0.f, 0.f), engine(), hint);
    auto k = std::make_unique<PrimitiveKernel>();
    add_with_layouts(*k, dnnl::eltwise_backward(pd),
                     {{DNNL_ARG_DIFF_DST, stored_md(c, 0, p), d, in(0)},
                      {DNNL_ARG_DST, stored_md(c, 1, p), d, in(1)},
                      {DNNL_ARG_DIFF_SRC, p, d, out(0)}},
                     c);
    return k;
  };
}

}  // namespace

void register_elementwise_kernels(KernelRegistry& r) {
  auto f = [&](const char* op, KernelFactory fn) { r.add_factory(op, kBackend, std::move(fn)); };
  // the activations of convolutional layers also take x in a blocked layout
  // and may write y over x (the plan does when x has no later reader)
  auto activation = [&](const char* op, KernelFactory fn) {
    r.add_factory(op, kBackend, std::move(fn), {0});
    r.allow_in_place(op, kBackend, 0);
  };
  f("neg", eltwise(algorithm::eltwise_linear, fixed(-1.f)));
  f("exp", eltwise(algorithm::eltwise_exp, fixed(0.f)));
  f("log", eltwise(algorithm::eltwise_log, fixed(0.f)));
  f("sqrt", eltwise(algorithm::eltwise_sqrt, fixed(0.f)));
  f("square", eltwise(algorithm::eltwise_square, fixed(0.f)));
  f("abs", eltwise(algorithm::eltwise_abs, fixed(0.f)));
  // oneDNN's relu maps NaN to 0: numeric checks must look at losses and gradients, not at
  // post-relu activations.
  activation("relu", eltwise(algorithm::eltwise_relu, fixed(0.f)));
  activation("leaky_relu", eltwise(algorithm::eltwise_relu, [](const Attrs& a) {
      return std::pair{static_cast<float>(a.get_float("alpha")), 0.f};
    }));
  activation("sigmoid", eltwise(algorithm::eltwise_logistic, fixed(0.f)));
  activation("tanh", eltwise(algorithm::eltwise_tanh, fixed(0.f)));
  f("softplus", eltwise(algorithm::eltwise_soft_relu, fixed(0.f)));
  f("pow", eltwise(algorithm::eltwise_pow, [](const Attrs& a) {
      return std::pair{1.f, static_cast<float>(a.get_float("p"))};
    }));
  // (g, y) may arrive in a convolution's layout; dx may be written over g
  for (auto [op, alg] : {std::pair{"relu_backward", algorithm::eltwise_relu_use_dst_for_bwd},
                         std::pair{"tanh_backward", algorithm::eltwise_tanh_use_dst_for_bwd},
                         std::pair{"sigmoid_backward", algorithm::eltwise_logistic_use_dst_for_bwd}}) {
    r.add_factory(op, kBackend, eltwise_backward(alg), {0, 1});
    r.allow_in_place(op, kBackend, 0);
  }
  f("add", binary(algorithm::binary_add));
  f("sub", binary(algorithm::binary_sub));
  f("mul", binary(algorithm::binary_mul));
  f("div", binary(algorithm::binary_div));
  f("equal", binary(algorithm::binary_eq));
  f("not_equal", binary(algorithm::binary_ne));
  f("less", binary(algorithm::binary_lt));
  f("less_equal", binary(algorithm::binary_le));
  f("greater", binary(algorithm::binary_gt));
  f("greater_equal", binary(algorithm::binary_ge));
  f("broadcast_like", broadcast);
  f("broadcast_to", broadcast);
  // y = x * mask / (1 - p): binary mul with a linear post-op
  f("dropout", [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, algorithm::eltwise_linear,
                       static_cast<float>(1.0 / (1.0 - c.attrs().get_float("p"))), 0.f);
    dnnl::primitive_attr attr;
    attr.set_post_ops(ops);
    auto k = std::make_unique<PrimitiveKernel>();
    add_binary(*k, algorithm::binary_mul, in(0), c.inputs[0].shape, in(1), c.inputs[1].shape,
               c.outputs[0].shape, attr);
    return k;
  });
}

}  // namespace symgrad::onednn
