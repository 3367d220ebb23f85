// Reference kernels of reductions and broadcasting helpers.

#include <algorithm>
#include <limits>

#include "kernel_helpers.hpp"

namespace symgrad::reference {
namespace {

enum class Reduce { sum, mean, max };

// Reduces x into y, where y's shape broadcasts to x's (keepdims form or a right-aligned suffix).
template <class T>
void reduce_into(const Tensor& x, Tensor& y, const Shape& y_keep, Reduce op) {
  const T* px = x.data<T>();
  T* py = y.data<T>();
  const std::int64_t ny = y.numel();
  std::fill(py, py + ny, op == Reduce::max ? -std::numeric_limits<T>::infinity() : T(0));
  for_each_offset(x.shape(), {broadcast_strides(y_keep, x.shape())},
                  [&](std::int64_t i, const std::vector<std::int64_t>& off) {
                    if (op == Reduce::max) {
                      py[off[0]] = std::max(py[off[0]], px[i]);
                    } else {
                      py[off[0]] += px[i];
                    }
                  });
  if (op == Reduce::mean && ny > 0) {
    const T scale = static_cast<T>(ny) / static_cast<T>(x.numel());
    for (std::int64_t i = 0; i < ny; ++i) py[i] *= scale;
  }
}

KernelFn reduction(Reduce op) {
  return [op](const KernelContext& c) {
    const Shape& xs = c.in(0).shape();
    auto axes = reduction_axes(c.attrs().get_ints("axes"), xs.rank());
    Shape keep = reduced_shape(xs, axes, true);
    dispatch_float(c, c.in(0).dtype(),
                   [&](auto z) { reduce_into<decltype(z)>(c.in(0), c.out(), keep, op); });
  };
}

// y = x read with broadcasting over y's shape.
void broadcast_kernel(const KernelContext& c) {
  dispatch_float(c, c.in(0).dtype(), [&](auto z) {
    using T = decltype(z);
    const T* x = c.in(0).data<T>();
    T* y = c.out().data<T>();
    for_each_offset(c.out().shape(), {broadcast_strides(c.in(0).shape(), c.out().shape())},
                    [&](std::int64_t i, const std::vector<std::int64_t>& off) { y[i] = x[off[0]]; });
  });
}

}  // namespace

void register_reduce_kernels(KernelRegistry& r) {
  r.add_kernel("sum", kBackend, reduction(Reduce::sum));
  r.add_kernel("mean", kBackend, reduction(Reduce::mean));
  r.add_kernel("max", kBackend, reduction(Reduce::max));
  r.add_kernel("sum_to_like", kBackend, [](const KernelContext& c) {
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      reduce_into<decltype(z)>(c.in(0), c.out(), c.out().shape(), Reduce::sum);
    });
  });
  r.add_kernel("broadcast_like", kBackend, broadcast_kernel);
  r.add_kernel("broadcast_to", kBackend, broadcast_kernel);
  r.add_kernel("count", kBackend, [](const KernelContext& c) {
    const Shape& xs = c.in(0).shape();
    std::int64_t n = 1;
    for (auto a : reduction_axes(c.attrs().get_ints("axes"), xs.rank())) {
      n *= xs[static_cast<std::size_t>(a)];
    }
    c.out().set(0, static_cast<double>(n));
  });
}

}  // namespace symgrad::reference
