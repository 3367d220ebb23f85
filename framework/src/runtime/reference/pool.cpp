// Reference kernels of max and average pooling and their adjoints.

#include <algorithm>
#include <limits>

#include "kernel_helpers.hpp"

namespace symgrad::reference {
namespace {

struct PoolGeometry {
  std::int64_t planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw;
};

PoolGeometry geometry(const Shape& x, const Shape& y, const Attrs& a) {
  const auto& k = a.get_ints("kernel");
  const auto& s = a.get_ints("stride");
  const auto& p = a.get_ints("padding");
  return {x[0] * x[1], x[2], x[3], y[2], y[3], k[0], k[1], s[0], s[1], p[0], p[1]};
}

// Calls f(window_index, x_indices_in_window) for each window; padded taps are left out.
template <class F>
void for_each_window(const PoolGeometry& g, F&& f) {
  std::vector<std::int64_t> taps;
  for (std::int64_t pl = 0; pl < g.planes; ++pl) {
    for (std::int64_t i = 0; i < g.oh; ++i) {
      for (std::int64_t j = 0; j < g.ow; ++j) {
        taps.clear();
        for (std::int64_t a = 0; a < g.kh; ++a) {
          const std::int64_t r = i * g.sh + a - g.ph;
          if (r < 0 || r >= g.h) continue;
          for (std::int64_t b = 0; b < g.kw; ++b) {
            const std::int64_t q = j * g.sw + b - g.pw;
            if (q >= 0 && q < g.w) taps.push_back((pl * g.h + r) * g.w + q);
          }
        }
        f((pl * g.oh + i) * g.ow + j, taps);
      }
    }
  }
}

// The first maximum of x over the taps.
template <class T>
std::int64_t argmax(const T* x, const std::vector<std::int64_t>& taps) {
  std::int64_t best = taps.front();
  for (auto t : taps) {
    if (x[t] > x[best]) best = t;
  }
  return best;
}

}  // namespace

void register_pool_kernels(KernelRegistry& r) {
  r.add_kernel("max_pool2d", kBackend, [](const KernelContext& c) {
    auto g = geometry(c.in(0).shape(), c.out().shape(), c.attrs());
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* x = c.in(0).data<T>();
      T* y = c.out().data<T>();
      for_each_window(g, [&](std::int64_t yi, const auto& taps) { y[yi] = x[argmax(x, taps)]; });
    });
  });
  // inputs (x, g): dx[argmax of window] += g[window]
  r.add_kernel("max_pool2d_backward", kBackend, [](const KernelContext& c) {
    auto g = geometry(c.in(0).shape(), c.in(1).shape(), c.attrs());
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* x = c.in(0).data<T>();
      const T* gy = c.in(1).data<T>();
      T* dx = c.out().data<T>();
      std::fill(dx, dx + c.out().numel(), T(0));
      for_each_window(g, [&](std::int64_t yi, const auto& taps) { dx[argmax(x, taps)] += gy[yi]; });
    });
  });
  // inputs (x, h): y[window] = h[argmax of window]
  r.add_kernel("max_pool2d_gather", kBackend, [](const KernelContext& c) {
    auto g = geometry(c.in(0).shape(), c.out().shape(), c.attrs());
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* x = c.in(0).data<T>();
      const T* h = c.in(1).data<T>();
      T* y = c.out().data<T>();
      for_each_window(g, [&](std::int64_t yi, const auto& taps) { y[yi] = h[argmax(x, taps)]; });
    });
  });
  // y = sum over the window / (kh kw): padded taps count as zeros
  r.add_kernel("avg_pool2d", kBackend, [](const KernelContext& c) {
    auto g = geometry(c.in(0).shape(), c.out().shape(), c.attrs());
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* x = c.in(0).data<T>();
      T* y = c.out().data<T>();
      const T inv = T(1) / static_cast<T>(g.kh * g.kw);
      for_each_window(g, [&](std::int64_t yi, const auto& taps) {
        T s = 0;
        for (auto t : taps) s += x[t];
        y[yi] = s * inv;
      });
    });
  });
  // inputs (g, like_x): dx[tap] += g[window] / (kh kw)
  r.add_kernel("avg_pool2d_backward", kBackend, [](const KernelContext& c) {
    auto g = geometry(c.in(1).shape(), c.in(0).shape(), c.attrs());
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* gy = c.in(0).data<T>();
      T* dx = c.out().data<T>();
      std::fill(dx, dx + c.out().numel(), T(0));
      const T inv = T(1) / static_cast<T>(g.kh * g.kw);
      for_each_window(g, [&](std::int64_t yi, const auto& taps) {
        for (auto t : taps) dx[t] += gy[yi] * inv;
      });
    });
  });
}

}  // namespace symgrad::reference
