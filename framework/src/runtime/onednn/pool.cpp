// oneDNN kernels of pooling. Max pooling's backward needs the forward's workspace: in a plan, the
// forward max_pool2d writes it into memory shared with the plan's max_pool2d_backward of the same
// input (PrepareContext::shared); a backward without its forward in the plan runs the forward
// itself first. Average pooling counts padding (pooling_avg_include_padding, PyTorch's default).

#include <string>

#include "context.hpp"

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

dnnl::pooling_forward::primitive_desc forward_pd(algorithm alg, const PoolShapes& s, prop_kind pk) {
  return {dnnl::pooling_forward::desc(pk, alg, s.x, s.y, s.stride, s.kernel, s.pad, s.pad), engine()};
}

// The key under which the forward of max pooling over input `id` shares its workspace.
std::string workspace_key(const PrepareContext& c, std::int64_t id) {
  return "max_pool2d/workspace/" + std::to_string(id) + "/" + c.attrs().to_string();
}

KernelFactory forward(algorithm alg) {
  return [alg](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    auto s = pool_shapes(c.inputs[0].shape, c.outputs[0].shape, c.attrs());
    auto k = std::make_unique<PrimitiveKernel>();
    if (alg == algorithm::pooling_max && c.shared != nullptr && !c.input_ids.empty()) {
      auto pd = forward_pd(alg, s, prop_kind::forward_training);
      auto ws = std::make_shared<dnnl::memory>(pd.workspace_desc(), engine());
      (*c.shared)[workspace_key(c, c.input_ids[0])] = ws;
      k->add(dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, s.x, in(0)}, {DNNL_ARG_DST, s.y, out(0)}});
      k->share(DNNL_ARG_WORKSPACE, *ws);
      return k;
    }
    k->add(dnnl::pooling_forward(forward_pd(alg, s, prop_kind::forward_inference)),
           {{DNNL_ARG_SRC, s.x, in(0)}, {DNNL_ARG_DST, s.y, out(0)}});
    return k;
  };
}

}  // namespace

void register_pool_kernels(OpRegistry& r) {
  r.add_factory("max_pool2d", kBackend, forward(algorithm::pooling_max));
  r.add_factory("avg_pool2d", kBackend, forward(algorithm::pooling_avg_include_padding));
  // inputs (g, like_x) -> dx
  r.add_factory("avg_pool2d_backward", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const auto alg = algorithm::pooling_avg_include_padding;
    auto s = pool_shapes(c.outputs[0].shape, c.inputs[0].shape, c.attrs());
    dnnl::pooling_backward::primitive_desc pd(
        dnnl::pooling_backward::desc(alg, s.x, s.y, s.stride, s.kernel, s.pad, s.pad), engine(),
        forward_pd(alg, s, prop_kind::forward_training));
    auto k = std::make_unique<PrimitiveKernel>();
    k->add(dnnl::pooling_backward(pd), {{DNNL_ARG_DIFF_DST, s.y, in(0)}, {DNNL_ARG_DIFF_SRC, s.x, out(0)}});
    return k;
  });
  // inputs (x, g) -> dx: the backward with the forward's workspace (the plan's forward of the same
  // x wrote it; else the forward runs here first, into a scratch output)
  r.add_factory("max_pool2d_backward", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const auto alg = algorithm::pooling_max;
    auto s = pool_shapes(c.inputs[0].shape, c.inputs[1].shape, c.attrs());
    auto fwd = forward_pd(alg, s, prop_kind::forward_training);
    dnnl::pooling_backward::primitive_desc pd(
        dnnl::pooling_backward::desc(alg, s.x, s.y, s.stride, s.kernel, s.pad, s.pad), engine(), fwd);
    auto k = std::make_unique<PrimitiveKernel>();
    if (c.shared != nullptr && !c.input_ids.empty()) {
      auto found = c.shared->find(workspace_key(c, c.input_ids[0]));
      if (found != c.shared->end()) {
        k->add(dnnl::pooling_backward(pd), {{DNNL_ARG_DIFF_DST, s.y, in(1)}, {DNNL_ARG_DIFF_SRC, s.x, out(0)}});
        k->share(DNNL_ARG_WORKSPACE, *std::static_pointer_cast<dnnl::memory>(found->second));
        return k;
      }
    }
    dnnl::memory ws(fwd.workspace_desc(), engine());
    k->add(dnnl::pooling_forward(fwd), {{DNNL_ARG_SRC, s.x, in(0)}, {DNNL_ARG_DST, s.y, scratch()}});
    k->share(DNNL_ARG_WORKSPACE, ws);
    k->add(dnnl::pooling_backward(pd), {{DNNL_ARG_DIFF_DST, s.y, in(1)}, {DNNL_ARG_DIFF_SRC, s.x, out(0)}});
    k->share(DNNL_ARG_WORKSPACE, ws);
    return k;
  });
}

}  // namespace symgrad::onednn
