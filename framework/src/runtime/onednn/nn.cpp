// oneDNN kernels of softmax and log_softmax (softmax_v2) and batch normalization (training
// statistics, and inference with given statistics).

#include "context.hpp"

namespace symgrad::onednn {
namespace {

using dnnl::algorithm;
using dnnl::normalization_flags;
using dnnl::prop_kind;

KernelFactory softmax(algorithm alg) {
  return [alg](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const Shape& s = c.inputs[0].shape;
    if (s.rank() == 0) return nullptr;
    const int axis = static_cast<int>(normalize_axis(c.attrs().get_int("axis"), s.rank()));
    const md d = plain(s);
    dnnl::softmax_v2_forward::primitive_desc pd(
        dnnl::softmax_v2_forward::desc(prop_kind::forward_inference, alg, d, d, axis), engine());
    auto k = std::make_unique<PrimitiveKernel>();
    k->add(dnnl::softmax_v2_forward(pd), {{DNNL_ARG_SRC, d, in(0)}, {DNNL_ARG_DST, d, out(0)}});
    return k;
  };
}

// [N, C] as nc, [N, C, H, W] as nchw; the per-channel tensors are [C]. x may arrive in a
// convolution's blocked layout: the primitive then runs on it (oneDNN's JIT kernels take blocked
// layouts; the plain-layout one is its slow reference-like code), and y stays in it when the
// consumers accept it.
KernelFactory batch_norm(bool training) {
  return [training](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const md p = plain(c.inputs[0].shape);
    const md data = stored_md(c, 0, p);
    const md channel = plain(c.inputs[1].shape);
    const float eps = static_cast<float>(c.attrs().get_float("eps"));
    auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
    if (!training) flags = flags | normalization_flags::use_global_stats;
    dnnl::batch_normalization_forward::primitive_desc pd(
        dnnl::batch_normalization_forward::desc(
            training ? prop_kind::forward_training : prop_kind::forward_inference, data, eps, flags),
        engine());
    auto k = std::make_unique<PrimitiveKernel>();
    std::vector<LayoutArg> args = {{DNNL_ARG_SRC, data, data, in(0)},
                                   {DNNL_ARG_SCALE, channel, channel, in(1)},
                                   {DNNL_ARG_SHIFT, channel, channel, in(2)},
                                   {DNNL_ARG_DST, p, pd.dst_desc(), out(0)}};
    if (training) {
      args.push_back({DNNL_ARG_MEAN, channel, channel, out(1)});
      args.push_back({DNNL_ARG_VARIANCE, channel, channel, out(2)});
    } else {
      args.push_back({DNNL_ARG_MEAN, channel, channel, in(3)});
      args.push_back({DNNL_ARG_VARIANCE, channel, channel, in(4)});
    }
    add_with_layouts(*k, dnnl::batch_normalization_forward(pd), args, c);
    return k;
  };
}

// inputs (g, x, gamma, mean, var) -> dx, dgamma, dbeta: the backward primitive, with the
// training forward as its hint, in x's layout (g is reordered to it if it differs; dx is written
// in it when the consumers accept it)
std::unique_ptr<PreparedKernel> batch_norm_backward(const PrepareContext& c) {
  SYMGRAD_ONEDNN_F32_ONLY(c);
  const md p = plain(c.inputs[1].shape);
  const md data = stored_md(c, 1, stored_md(c, 0, p));
  const md channel = plain(c.inputs[2].shape);
  const float eps = static_cast<float>(c.attrs().get_float("eps"));
  const auto flags = normalization_flags::use_scale | normalization_flags::use_shift;
  dnnl::batch_normalization_forward::primitive_desc hint(
      dnnl::batch_normalization_forward::desc(prop_kind::forward_training, data, eps, flags), engine());
  dnnl::batch_normalization_backward::primitive_desc pd(
      dnnl::batch_normalization_backward::desc(prop_kind::backward, data, data, eps, flags), engine(), hint);
  auto k = std::make_unique<PrimitiveKernel>();
  add_with_layouts(*k, dnnl::batch_normalization_backward(pd),
                   // oneDNN 2.6 refuses to execute without a shift argument, which the gradient never reads
                   {{DNNL_ARG_DIFF_DST, stored_md(c, 0, p), pd.diff_dst_desc(), in(0)},
                    {DNNL_ARG_SRC, stored_md(c, 1, p), pd.src_desc(), in(1)},
                    {DNNL_ARG_SCALE, channel, channel, in(2)},
                    {DNNL_ARG_SHIFT, channel, channel, scratch()},
                    {DNNL_ARG_MEAN, channel, channel, in(3)},
                    {DNNL_ARG_VARIANCE, channel, channel, in(4)},
                    {DNNL_ARG_DIFF_SRC, p, pd.diff_src_desc(), out(0)},
                    {DNNL_ARG_DIFF_SCALE, channel, channel, out(1)},
                    {DNNL_ARG_DIFF_SHIFT, channel, channel, out(2)}},
                   c);
  return k;
}

// inputs (g, y) -> dx: softmax_v2 backward, with the forward as its hint
std::unique_ptr<PreparedKernel> softmax_backward(const PrepareContext& c) {
  SYMGRAD_ONEDNN_F32_ONLY(c);
  const Shape& s = c.inputs[0].shape;
  if (s.rank() == 0) return nullptr;
  const int axis = static_cast<int>(normalize_axis(c.attrs().get_int("axis"), s.rank()));
  const auto alg = c.attrs().get_int("log") ? algorithm::softmax_log : algorithm::softmax_accurate;
  const md d = plain(s);
  dnnl::softmax_v2_forward::primitive_desc hint(
      dnnl::softmax_v2_forward::desc(prop_kind::forward_training, alg, d, d, axis), engine());
  dnnl::softmax_v2_backward::primitive_desc pd(dnnl::softmax_v2_backward::desc(alg, d, d, d, axis), engine(), hint);
  auto k = std::make_unique<PrimitiveKernel>();
  k->add(dnnl::softmax_v2_backward(pd), {{DNNL_ARG_DIFF_DST, d, in(0)}, {DNNL_ARG_DST, d, in(1)}, {DNNL_ARG_DIFF_SRC, d, out(0)}});
  return k;
}

}  // namespace

void register_nn_kernels(KernelRegistry& r) {
  r.add_factory("softmax_backward", kBackend, softmax_backward);
  // x (and g) may arrive in a convolution's blocked layout
  r.add_factory("batch_norm_backward", kBackend, batch_norm_backward, {0, 1});
  r.add_factory("softmax", kBackend, softmax(algorithm::softmax_accurate));
  r.add_factory("log_softmax", kBackend, softmax(algorithm::softmax_log));
  r.add_factory("batch_norm", kBackend, batch_norm(true), {0});
  r.add_factory("batch_norm_inference", kBackend, batch_norm(false), {0});
}

}  // namespace symgrad::onednn
