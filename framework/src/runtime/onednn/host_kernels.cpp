// Kernels of the onednn backend for ops oneDNN has no primitive for: softmax cross-entropy with
// integer labels, one_hot, mse, count and fill_like. Plain C++, threaded with OpenMP over rows
// when the work is large enough to pay for starting threads, in float32 like the rest of the
// backend. (Elementwise ops without a primitive, such as where and sign, run on the chain kernel.)

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "context.hpp"
#include "symgrad/core/error.hpp"

namespace symgrad::onednn {
namespace {

constexpr std::int64_t kParallelWork = std::int64_t{1} << 15;

// A host kernel: a function of the kernel context, prepared once.
class HostKernel final : public PreparedKernel {
 public:
  explicit HostKernel(std::function<void(const KernelContext&)> fn) : fn_(std::move(fn)) {}
  void run(const KernelContext& ctx) override { fn_(ctx); }

 private:
  std::function<void(const KernelContext&)> fn_;
};

bool is_label_type(DType t) { return t == DType::i32 || t == DType::i64; }

template <class L>
std::int64_t label(const KernelContext& c, const L* labels, std::int64_t i, std::int64_t classes) {
  const auto v = static_cast<std::int64_t>(labels[i]);
  if (v < 0 || v >= classes) {
    throw Error(fmt::format("{}: label {} at position {} is outside [0, {})", c.node.label(), v, i, classes));
  }
  return v;
}

// loss_i = logsumexp(z_i) - z_i[y_i], rows in parallel. A bad label is reported after the loop
// (an exception must not leave an OpenMP region).
template <class L>
void cross_entropy(const KernelContext& c) {
  const std::int64_t n = c.in(0).shape()[0], k = c.in(0).shape()[1];
  if (c.in(1).numel() != n) {
    throw ShapeError(fmt::format("{}: {} rows of logits but {} labels", c.node.label(), n, c.in(1).numel()));
  }
  const float* z = c.in(0).data<float>();
  const L* y = c.in(1).data<L>();
  float* out = c.out().data<float>();
  std::int64_t bad = -1;
#pragma omp parallel for schedule(static) if (n * k >= kParallelWork) reduction(max : bad)
  for (std::int64_t i = 0; i < n; ++i) {
    const float* row = z + i * k;
    const auto t = static_cast<std::int64_t>(y[i]);
    if (t < 0 || t >= k) {
      bad = std::max(bad, i);
      continue;
    }
    const float m = *std::max_element(row, row + k);
    float total = 0.f;
    for (std::int64_t j = 0; j < k; ++j) total += std::exp(row[j] - m);
    out[i] = m + std::log(total) - row[t];
  }
  if (bad >= 0) label(c, y, bad, k);  // throws, naming the label
}

template <class L>
void one_hot(const KernelContext& c) {
  const std::int64_t depth = c.attrs().get_int("depth");
  const L* y = c.in(0).data<L>();
  float* out = c.out().data<float>();
  std::memset(out, 0, c.out().nbytes());
  for (std::int64_t i = 0, n = c.in(0).numel(); i < n; ++i) out[i * depth + label(c, y, i, depth)] = 1.f;
}

}  // namespace

void register_host_kernels(KernelRegistry& r) {
  r.add_factory("softmax_cross_entropy", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    if (c.inputs[0].dtype != DType::f32 || !is_label_type(c.inputs[1].dtype)) return nullptr;
    return std::make_unique<HostKernel>(c.inputs[1].dtype == DType::i32 ? cross_entropy<std::int32_t>
                                                                        : cross_entropy<std::int64_t>);
  });
  r.add_factory("one_hot", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    if (c.outputs[0].dtype != DType::f32 || !is_label_type(c.inputs[0].dtype)) return nullptr;
    return std::make_unique<HostKernel>(c.inputs[0].dtype == DType::i32 ? one_hot<std::int32_t> : one_hot<std::int64_t>);
  });
  // mean((p - t)^2), accumulated in double
  r.add_factory("mse", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    return std::make_unique<HostKernel>([](const KernelContext& ctx) {
      const float* p = ctx.in(0).data<float>();
      const float* t = ctx.in(1).data<float>();
      const std::int64_t n = ctx.in(0).numel();
      double total = 0.0;
      for (std::int64_t i = 0; i < n; ++i) {
        const double d = static_cast<double>(p[i]) - static_cast<double>(t[i]);
        total += d * d;
      }
      ctx.out().data<float>()[0] = n ? static_cast<float>(total / static_cast<double>(n)) : 0.f;
    });
  });
  r.add_factory("count", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    std::int64_t n = 1;  // known once the shapes are: computed when the kernel is prepared
    for (auto a : reduction_axes(c.attrs().get_ints("axes"), c.inputs[0].shape.rank())) {
      n *= c.inputs[0].shape[static_cast<std::size_t>(a)];
    }
    return std::make_unique<HostKernel>([n](const KernelContext& ctx) { ctx.out().data<float>()[0] = static_cast<float>(n); });
  }, {0});  // reads only x's shape: x may be in any layout (batch norm's count of a conv output)
  r.add_factory("fill_like", kBackend, [](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const auto v = static_cast<float>(c.attrs().get_float("value"));
    return std::make_unique<HostKernel>([v](const KernelContext& ctx) {
      float* out = ctx.out().data<float>();
      std::fill(out, out + ctx.out().numel(), v);
    });
  });
}

}  // namespace symgrad::onednn
