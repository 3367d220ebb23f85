// Reductions on the onednn backend in its own host code (as host_kernels.cpp), not oneDNN's: sum,
// mean, max over axes and sum_to_like (the sum over broadcast axes that gradients use). oneDNN 2.6 runs its reference implementation ("ref:any")
// for most of these patterns (a convolution's bias gradient, [128, 32, 26, 26] -> [1, 32, 1, 1],
// took 19 ms), so this backend uses its own kernel: the axes are collapsed into runs of kept and
// reduced axes, and the common patterns run as threaded loops vectorized along contiguous memory.
// Every output element is accumulated by one thread in a fixed order (in double for sums), so
// results do not depend on the thread count.

#include <algorithm>
#include <cstring>
#include <limits>

#include "context.hpp"

namespace symgrad::onednn {
namespace {

enum class Op { sum, mean, max };

// x's dims collapsed into alternating runs of kept (false) and reduced (true) axes.
struct Pattern {
  std::vector<std::int64_t> dims;
  std::vector<bool> reduced;
};

Pattern collapse(const Shape& x, const Shape& keep) {
  Pattern p;
  for (std::size_t i = 0; i < x.rank(); ++i) {
    const std::int64_t d = x[i];
    if (d == 1) continue;  // size-1 axes change nothing
    const bool r = keep[i] == 1;
    if (!p.dims.empty() && p.reduced.back() == r) {
      p.dims.back() *= d;
    } else {
      p.dims.push_back(d);
      p.reduced.push_back(r);
    }
  }
  return p;
}

class ReduceKernel final : public PreparedKernel {
 public:
  ReduceKernel(Op op, Pattern p, std::int64_t count) : op_(op), p_(std::move(p)), count_(count) {}

  void run(const KernelContext& c) override {
    const float* x = c.in(0).data<float>();
    float* y = c.out().data<float>();
    const auto& d = p_.dims;
    const auto& r = p_.reduced;
    if (d.empty()) {  // one element
      y[0] = x[0];
    } else if (d.size() == 1 && !r[0]) {  // nothing reduced
      std::memcpy(y, x, static_cast<std::size_t>(d[0]) * sizeof(float));
    } else if (d.size() == 1) {  // everything: [R]
      y[0] = row(x, d[0]);
    } else if (d.size() == 2 && r[0]) {  // [R, K]: vectorized over K
      columns(x, y, d[0], d[1]);
    } else if (d.size() == 2) {  // [K, R]
      const std::int64_t n = d[1];
#pragma omp parallel for schedule(static)
      for (std::int64_t k = 0; k < d[0]; ++k) y[k] = row(x + k * n, n);
    } else if (d.size() == 3 && r[0]) {  // [R, K, R2]: contiguous runs of R2
      const std::int64_t K = d[1], R2 = d[2], R = d[0];
#pragma omp parallel for schedule(static)
      for (std::int64_t k = 0; k < K; ++k) {
        double acc = init();
        for (std::int64_t i = 0; i < R; ++i) acc = combine(acc, x + (i * K + k) * R2, R2);
        y[k] = finish(acc);
      }
    } else if (d.size() == 3) {  // [K, R, K2]: vectorized over K2
      const std::int64_t K = d[0], R = d[1], K2 = d[2];
#pragma omp parallel for schedule(static)
      for (std::int64_t k = 0; k < K; ++k) columns_serial(x + k * R * K2, y + k * K2, R, K2);
    } else {
      general(c);
    }
  }

 private:
  double combine(double acc, const float* v, std::int64_t n) const {
    if (op_ == Op::max) {
      float m = v[0];
      for (std::int64_t j = 1; j < n; ++j) m = std::max(m, v[j]);
      return std::max(acc, static_cast<double>(m));
    }
    // 16 independent float lanes (vectorized, same order for any thread count), then double
    float lanes[16] = {};
    std::int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
      for (int l = 0; l < 16; ++l) lanes[l] += v[j + l];
    }
    double s = 0.0;
    for (float l : lanes) s += static_cast<double>(l);
    for (; j < n; ++j) s += static_cast<double>(v[j]);
    return acc + s;
  }
  float finish(double acc) const {
    return static_cast<float>(op_ == Op::mean ? acc / static_cast<double>(count_) : acc);
  }
  double init() const { return op_ == Op::max ? -std::numeric_limits<double>::infinity() : 0.0; }
  // The reduction of one contiguous run of n elements.
  float row(const float* v, std::int64_t n) const { return finish(combine(init(), v, n)); }
  // y[k] = reduce_i x[i K + k] for k < K, one thread per slice of columns.
  void columns(const float* x, float* y, std::int64_t R, std::int64_t K) const {
    const std::int64_t chunk = 256;
    const std::int64_t slices = (K + chunk - 1) / chunk;
#pragma omp parallel for schedule(static)
    for (std::int64_t s = 0; s < slices; ++s) {
      const std::int64_t k0 = s * chunk, n = std::min(chunk, K - k0);
      columns_serial_strided(x + k0, y + k0, R, n, K);
    }
  }
  void columns_serial(const float* x, float* y, std::int64_t R, std::int64_t K) const {
    columns_serial_strided(x, y, R, K, K);
  }
  void columns_serial_strided(const float* x, float* y, std::int64_t R, std::int64_t n, std::int64_t stride) const {
    double acc[256];
    for (std::int64_t j0 = 0; j0 < n; j0 += 256) {
      const std::int64_t m = std::min<std::int64_t>(256, n - j0);
      std::fill(acc, acc + m, init());
      for (std::int64_t i = 0; i < R; ++i) {
        const float* row = x + i * stride + j0;
        if (op_ == Op::max) {
          for (std::int64_t j = 0; j < m; ++j) acc[j] = std::max(acc[j], static_cast<double>(row[j]));
        } else {
          for (std::int64_t j = 0; j < m; ++j) acc[j] += static_cast<double>(row[j]);
        }
      }
      for (std::int64_t j = 0; j < m; ++j) y[j0 + j] = finish(acc[j]);
    }
  }
  // Any other pattern: one serial pass accumulating into the output by broadcast offsets.
  void general(const KernelContext& c) const {
    const float* x = c.in(0).data<float>();
    float* y = c.out().data<float>();
    const auto& d = p_.dims;
    std::int64_t ny = 1;
    for (std::size_t i = 0; i < d.size(); ++i) {
      if (!p_.reduced[i]) ny *= d[i];
    }
    std::vector<double> acc(static_cast<std::size_t>(ny), init());
    std::vector<std::int64_t> idx(d.size(), 0), ystride(d.size(), 0);
    std::int64_t s = 1;
    for (std::size_t i = d.size(); i-- > 0;) {
      if (!p_.reduced[i]) {
        ystride[i] = s;
        s *= d[i];
      }
    }
    std::int64_t n = 1;
    for (auto v : d) n *= v;
    std::int64_t off = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      auto& a = acc[static_cast<std::size_t>(off)];
      a = op_ == Op::max ? std::max(a, static_cast<double>(x[i])) : a + static_cast<double>(x[i]);
      for (std::size_t k = d.size(); k-- > 0;) {
        off += ystride[k];
        if (++idx[k] < d[k]) break;
        off -= ystride[k] * idx[k];
        idx[k] = 0;
      }
    }
    for (std::int64_t i = 0; i < ny; ++i) y[i] = finish(acc[static_cast<std::size_t>(i)]);
  }

  Op op_;
  Pattern p_;
  std::int64_t count_;  // elements per output, for the mean
};

// x reduced to `keep` (x's rank; 1 on reduced axes).
std::unique_ptr<PreparedKernel> reduce_to(Op op, const Shape& x, const Shape& keep) {
  const std::int64_t nx = x.numel(), ny = keep.numel();
  if (nx == 0) return nullptr;
  return std::make_unique<ReduceKernel>(op, collapse(x, keep), nx / ny);
}

KernelFactory reduction(Op op) {
  return [op](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const Shape& x = c.inputs[0].shape;
    auto axes = reduction_axes(c.attrs().get_ints("axes"), x.rank());
    return reduce_to(op, x, reduced_shape(x, axes, true));
  };
}

// The sum of x [N, C, spatial...] over every axis but the channels, with x in a layout blocked on
// the channels only (aBcd16b: [N, C/B, spatial, B] with the last block padded): a convolution's
// bias gradient, read where the convolution's backward left it. One thread per channel block;
// each (n, block) row is summed in float lanes, rows in double, in a fixed order.
class BlockedChannelSum final : public PreparedKernel {
 public:
  BlockedChannelSum(std::int64_t n, std::int64_t channels, std::int64_t block, std::int64_t spatial)
      : n_(n), c_(channels), b_(block), spatial_(spatial) {}

  void run(const KernelContext& ctx) override {
    const float* x = ctx.in(0).data<float>();
    float* y = ctx.out().data<float>();
    const std::int64_t blocks = (c_ + b_ - 1) / b_;
#pragma omp parallel for schedule(static)
    for (std::int64_t cb = 0; cb < blocks; ++cb) {
      std::vector<double> acc(static_cast<std::size_t>(b_), 0.0);
      std::vector<float> lanes(static_cast<std::size_t>(b_));
      for (std::int64_t i = 0; i < n_; ++i) {
        const float* v = x + (i * blocks + cb) * spatial_ * b_;
        std::fill(lanes.begin(), lanes.end(), 0.f);
        for (std::int64_t s = 0; s < spatial_; ++s) {
          for (std::int64_t l = 0; l < b_; ++l) lanes[static_cast<std::size_t>(l)] += v[s * b_ + l];
        }
        for (std::int64_t l = 0; l < b_; ++l) acc[static_cast<std::size_t>(l)] += lanes[static_cast<std::size_t>(l)];
      }
      for (std::int64_t l = 0; l < b_ && cb * b_ + l < c_; ++l) y[cb * b_ + l] = static_cast<float>(acc[static_cast<std::size_t>(l)]);
    }
  }

 private:
  std::int64_t n_, c_, b_, spatial_;
};

// A BlockedChannelSum when x's layout is a dense channel blocking and the sum keeps only the
// channels; null otherwise.
std::unique_ptr<PreparedKernel> blocked_channel_sum(const PrepareContext& c) {
  const LayoutPtr& l = c.input_layout(0);
  const Shape& x = c.inputs[0].shape;
  const Shape keep(dims_of(c.outputs[0].shape, x.rank()));
  if (!l || x.rank() < 3) return nullptr;
  for (std::size_t i = 0; i < x.rank(); ++i) {
    if (keep[i] != (i == 1 ? x[1] : 1)) return nullptr;  // only the channels are kept
  }
  const auto& d = static_cast<const md*>(l->desc.get())->data;
  if (d.format_kind != dnnl_blocked || d.data_type != dnnl_f32) return nullptr;  // bf16: summed as plain f32
  const auto& b = d.format_desc.blocking;
  if (b.inner_nblks != 1 || b.inner_idxs[0] != 1) return nullptr;
  const std::int64_t block = b.inner_blks[0], blocks = (x[1] + block - 1) / block;
  std::int64_t spatial = 1;
  for (std::size_t i = 2; i < x.rank(); ++i) spatial *= x[i];
  // dense [N, C/B, spatial..., B]: check every stride
  std::int64_t stride = block;
  for (std::size_t i = x.rank(); i-- > 2;) {
    if (b.strides[i] != stride) return nullptr;
    stride *= x[i];
  }
  if (b.strides[1] != stride || b.strides[0] != stride * blocks) return nullptr;
  return std::make_unique<BlockedChannelSum>(x[0], x[1], block, spatial);
}

}  // namespace

void register_reduce_kernels(KernelRegistry& r) {
  r.add_factory("sum", kBackend, reduction(Op::sum));
  r.add_factory("mean", kBackend, reduction(Op::mean));
  r.add_factory("max", kBackend, reduction(Op::max));
  // A convolution's bias gradient sums its output gradient in the blocked layout the
  // convolution's backward reads it in; other layouts are reordered to plain first.
  auto plain_sum = with_plain_inputs([](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    const Shape& x = c.inputs[0].shape;
    return reduce_to(Op::sum, x, Shape(dims_of(c.outputs[0].shape, x.rank())));
  });
  r.add_factory("sum_to_like", kBackend, [plain_sum](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    SYMGRAD_ONEDNN_F32_ONLY(c);
    if (auto k = blocked_channel_sum(c)) return k;
    return plain_sum(c);
  }, {0, 1});
}

}  // namespace symgrad::onednn
