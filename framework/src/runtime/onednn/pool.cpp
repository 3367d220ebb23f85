// oneDNN kernels of pooling (and, for max pooling over non-overlapping windows of a blocked or
// channels-last tensor, the host kernels of pool_blocked.hpp). Max pooling's backward on oneDNN
// needs the forward's workspace: in a plan, the forward max_pool2d writes it into memory shared
// with the plan's max_pool2d_backward of the same input (PrepareContext::shared); a backward
// without its forward in the plan runs the forward itself first. Average pooling counts padding (pooling_avg_include_padding, PyTorch's default).
// An input in a blocked layout (from a convolution) is pooled in that layout; the output stays in
// it when the consumers accept it, and is reordered to plain otherwise.

#include <string>

#include "context.hpp"
#include "pool_blocked.hpp"

namespace symgrad::onednn {
namespace {

using dnnl::algorithm;
using dnnl::prop_kind;

struct PoolShapes {
  md x, y;
  dims kernel, stride, pad;
};

PoolShapes pool_shapes(const Shape& x, const Shape& y, const Attrs& a) {
  auto d = [](const std::vector<std::int64_t>& v) { return dims(v.begin(), v.end()); };
  return {plain(x), plain(y), d(a.get_ints("kernel")), d(a.get_ints("stride")), d(a.get_ints("padding"))};
}

// The forward on x as stored (`sx`): a plain x gives a plain y; a blocked x lets the primitive
// choose y's layout (its own), in x's element type (bf16 in a bf16 plan; the kernel reorders y to
// plain f32 for plain consumers). The backward's hint is built the same way, so workspaces agree.
dnnl::pooling_forward::primitive_desc forward_pd(algorithm alg, const PoolShapes& s, const md& sx, prop_kind pk) {
  const md y = sx == s.x ? s.y : with_type(any(s.y), sx.data_type());
  return {dnnl::pooling_forward::desc(pk, alg, sx, y, s.stride, s.kernel, s.pad, s.pad), engine()};
}

// The backward (diff_dst -> diff_src) for the forward `fwd`, in its layouts.
dnnl::pooling_backward::primitive_desc backward_pd(algorithm alg, const PoolShapes& s,
                                                   const dnnl::pooling_forward::primitive_desc& fwd) {
  return {dnnl::pooling_backward::desc(alg, fwd.src_desc(), fwd.dst_desc(), s.stride, s.kernel, s.pad, s.pad),
          engine(), fwd};
}

// The key under which the forward of max pooling over input `id` shares its workspace.
std::string workspace_key(const PrepareContext& c, std::int64_t id) {
  return "max_pool2d/workspace/" + std::to_string(id) + "/" + c.attrs().to_string();
}

// Max pooling of a blocked x whose result may stay in x's layout and element type (or, with
// `plain`, a forward's result written as a plain f32 tensor), when pool_blocked.hpp's kernels
// take it: those, else null.
std::optional<BlockedPool> host_pooling(const PrepareContext& c, const md& sx, const Shape& pooled, bool plain = false) {
  const bool in_layout = c.may_use_layout(0) && stored_type(c, 0, sx.data_type()) == sx.data_type();
  if (!in_layout && !plain) return std::nullopt;
  auto p = blocked_pool(sx, c.inputs[0].shape, pooled, c.attrs());
  if (p) p->plain_out = !in_layout;
  return p;
}

KernelFactory forward(algorithm alg) {
  return [alg](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto s = pool_shapes(c.inputs[0].shape, c.outputs[0].shape, c.attrs());
    const md sx = stored_md(c, 0, s.x);
    auto k = std::make_unique<PrimitiveKernel>();
    if (const auto host = alg == algorithm::pooling_max ? host_pooling(c, sx, c.outputs[0].shape, true) : std::nullopt) {
      k->add_host([p = *host](const KernelContext& ctx) { blocked_pool_forward(p, ctx.in(0).raw(), ctx.out(0).raw()); });
      if (!host->plain_out) (*c.output_layouts)[0] = make_layout(blocked_pool_md(*host, c.outputs[0].shape));
      return k;
    }
    const bool training = alg == algorithm::pooling_max && c.shared != nullptr && !c.input_ids.empty();
    auto pd = forward_pd(alg, s, sx, training ? prop_kind::forward_training : prop_kind::forward_inference);
    std::vector<std::pair<int, dnnl::memory>> extra;
    if (training) {
      auto ws = std::make_shared<dnnl::memory>(pd.workspace_desc(), engine());
      (*c.shared)[workspace_key(c, c.input_ids[0])] = ws;
      extra.push_back({DNNL_ARG_WORKSPACE, *ws});
    }
    add_with_layouts(*k, dnnl::pooling_forward(pd),
                     {{DNNL_ARG_SRC, sx, pd.src_desc(), in(0)}, {DNNL_ARG_DST, s.y, pd.dst_desc(), out(0)}}, c,
                     extra);
    return k;
  };
}

}  // namespace

void register_pool_kernels(KernelRegistry& r) {
  r.add_factory("max_pool2d", kBackend, forward(algorithm::pooling_max), {0});
  r.add_factory("avg_pool2d", kBackend, forward(algorithm::pooling_avg_include_padding), {0});
  // inputs (g, like_x) -> dx
  r.add_factory("avg_pool2d_backward", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const auto alg = algorithm::pooling_avg_include_padding;
    auto s = pool_shapes(c.outputs[0].shape, c.inputs[0].shape, c.attrs());
    // the layout of x (input 1 only gives its shape) decides the layouts, as in the forward
    const md sx = stored_md(c, 1, s.x);
    auto pd = backward_pd(alg, s, forward_pd(alg, s, sx, prop_kind::forward_training));
    auto k = std::make_unique<PrimitiveKernel>();
    add_with_layouts(*k, dnnl::pooling_backward(pd),
                     {{DNNL_ARG_DIFF_DST, stored_md(c, 0, s.y), pd.diff_dst_desc(), in(0)},
                      {DNNL_ARG_DIFF_SRC, s.x, pd.diff_src_desc(), out(0)}},
                     c);
    return k;
  }, {0, 1});
  // inputs (x, g) -> dx: the backward with the forward's workspace (the plan's forward of the same
  // x wrote it; else the forward runs here first, into a scratch output)
  r.add_factory("max_pool2d_backward", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const auto alg = algorithm::pooling_max;
    auto s = pool_shapes(c.inputs[0].shape, c.inputs[1].shape, c.attrs());
    const md sx = stored_md(c, 0, s.x);
    auto k = std::make_unique<PrimitiveKernel>();
    if (const auto host = host_pooling(c, sx, c.inputs[1].shape)) {  // g in the pooled layout (reordered if not)
      const md g_chosen = blocked_pool_md(*host, c.inputs[1].shape), g_stored = stored_md(c, 1, s.y);
      const bool copied = !(g_stored == g_chosen);
      const dnnl::memory copy = copied ? input_in(*k, c, 1, g_stored, g_chosen) : dnnl::memory();
      k->add_host([p = *host, copied, copy](const KernelContext& ctx) {
        blocked_pool_backward(p, ctx.in(0).raw(), copied ? copy.get_data_handle() : ctx.in(1).raw(), ctx.out(0).raw());
      });
      (*c.output_layouts)[0] = make_layout(sx);
      return k;
    }
    auto fwd = forward_pd(alg, s, sx, prop_kind::forward_training);
    auto pd = backward_pd(alg, s, fwd);
    std::shared_ptr<dnnl::memory> ws;
    if (c.shared != nullptr && !c.input_ids.empty()) {
      auto found = c.shared->find(workspace_key(c, c.input_ids[0]));
      if (found != c.shared->end()) ws = std::static_pointer_cast<dnnl::memory>(found->second);
    }
    if (!ws) {
      ws = std::make_shared<dnnl::memory>(fwd.workspace_desc(), engine());
      k->add(dnnl::pooling_forward(fwd), {{DNNL_ARG_SRC, sx, in(0)}, {DNNL_ARG_DST, fwd.dst_desc(), scratch()}});
      k->share(DNNL_ARG_WORKSPACE, *ws);
    }
    add_with_layouts(*k, dnnl::pooling_backward(pd),
                     {{DNNL_ARG_DIFF_DST, stored_md(c, 1, s.y), pd.diff_dst_desc(), in(1)},
                      {DNNL_ARG_DIFF_SRC, s.x, pd.diff_src_desc(), out(0)}},
                     c, {{DNNL_ARG_WORKSPACE, *ws}});
    return k;
  }, {0, 1});
}

}  // namespace symgrad::onednn
