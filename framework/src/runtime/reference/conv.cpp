// Reference kernels of conv2d and its two adjoints: one direct loop over
// (n, o, i, j, c, kh, kw) that each kernel accumulates in its own direction.

#include <algorithm>
#include <cmath>
#include <string>

#include "kernel_helpers.hpp"

namespace symgrad::reference {
namespace {

struct ConvGeometry {
  std::int64_t n, c, h, w;   // input
  std::int64_t o, kh, kw;    // weights
  std::int64_t oh, ow;       // output
  std::int64_t sh, sw, ph, pw;
};

ConvGeometry geometry(const Shape& x, const Shape& w, const Shape& y, const Attrs& a) {
  const auto& s = a.get_ints("stride");
  const auto& p = a.get_ints("padding");
  return {x[0], x[1], x[2], x[3], w[0], w[2], w[3], y[2], y[3], s[0], s[1], p[0], p[1]};
}

// Calls f(x_index, w_index, y_index) for every multiply of the convolution.
template <class F>
void conv_loop(const ConvGeometry& g, F&& f) {
  for (std::int64_t n = 0; n < g.n; ++n) {
    for (std::int64_t o = 0; o < g.o; ++o) {
      for (std::int64_t i = 0; i < g.oh; ++i) {
        for (std::int64_t j = 0; j < g.ow; ++j) {
          const std::int64_t yi = ((n * g.o + o) * g.oh + i) * g.ow + j;
          for (std::int64_t c = 0; c < g.c; ++c) {
            for (std::int64_t a = 0; a < g.kh; ++a) {
              const std::int64_t r = i * g.sh + a - g.ph;
              if (r < 0 || r >= g.h) continue;
              for (std::int64_t b = 0; b < g.kw; ++b) {
                const std::int64_t q = j * g.sw + b - g.pw;
                if (q < 0 || q >= g.w) continue;
                f(((n * g.c + c) * g.h + r) * g.w + q, ((o * g.c + c) * g.kh + a) * g.kw + b, yi);
              }
            }
          }
        }
      }
    }
  }
}

// dw[o,c,a,b] = sum g[n,o,i,j] x[n,c,i s + a - p, j s + b - p]: inputs (x, g, ...), output 0 dw
void filter_gradient(const KernelContext& c) {
  auto g = geometry(c.in(0).shape(), c.out(0).shape(), c.in(1).shape(), c.attrs());
  dispatch_float(c, c.in(0).dtype(), [&](auto z) {
    using T = decltype(z);
    const T* x = c.in(0).data<T>();
    const T* gy = c.in(1).data<T>();
    T* dw = c.out(0).data<T>();
    std::fill(dw, dw + c.out(0).numel(), T(0));
    conv_loop(g, [&](std::int64_t xi, std::int64_t wi, std::int64_t yi) { dw[wi] += gy[yi] * x[xi]; });
  });
}

}  // namespace

void register_conv_kernels(KernelRegistry& r) {
  // y[n,o,i,j] = sum_{c,a,b} x[n,c,i s + a - p, j s + b - p] w[o,c,a,b]
  r.add_kernel("conv2d", kBackend, [](const KernelContext& c) {
    auto g = geometry(c.in(0).shape(), c.in(1).shape(), c.out().shape(), c.attrs());
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* x = c.in(0).data<T>();
      const T* w = c.in(1).data<T>();
      T* y = c.out().data<T>();
      std::fill(y, y + c.out().numel(), T(0));
      conv_loop(g, [&](std::int64_t xi, std::int64_t wi, std::int64_t yi) { y[yi] += x[xi] * w[wi]; });
    });
  });
  // y = act(conv(x, w) + b[o])
  r.add_kernel("conv2d_bias", kBackend, [](const KernelContext& c) {
    auto g = geometry(c.in(0).shape(), c.in(1).shape(), c.out().shape(), c.attrs());
    const Activation act = activation_of(c.attrs());
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* x = c.in(0).data<T>();
      const T* w = c.in(1).data<T>();
      const T* b = c.in(2).data<T>();
      T* y = c.out().data<T>();
      const std::int64_t plane = g.oh * g.ow;
      for (std::int64_t i = 0; i < c.out().numel(); ++i) y[i] = b[(i / plane) % g.o];
      conv_loop(g, [&](std::int64_t xi, std::int64_t wi, std::int64_t yi) { y[yi] += x[xi] * w[wi]; });
      activate(act, y, c.out().numel());
    });
  });
  // dx[n,c,r,q] = sum g[n,o,i,j] w[o,c,a,b] over the taps that read x[n,c,r,q]
  r.add_kernel("conv2d_backward_data", kBackend, [](const KernelContext& c) {
    auto g = geometry(c.out().shape(), c.in(1).shape(), c.in(0).shape(), c.attrs());
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* gy = c.in(0).data<T>();
      const T* w = c.in(1).data<T>();
      T* dx = c.out().data<T>();
      std::fill(dx, dx + c.out().numel(), T(0));
      conv_loop(g, [&](std::int64_t xi, std::int64_t wi, std::int64_t yi) { dx[xi] += gy[yi] * w[wi]; });
    });
  });
  r.add_kernel("conv2d_backward_filter", kBackend, filter_gradient);
  // filter_gradient's dw; db[o] = sum g[n,o,i,j]
  r.add_kernel("conv2d_backward_filter_bias", kBackend, [](const KernelContext& c) {
    filter_gradient(c);
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* gy = c.in(1).data<T>();
      T* db = c.out(1).data<T>();
      const Shape& ys = c.in(1).shape();
      const std::int64_t plane = ys[2] * ys[3];
      for (std::int64_t o = 0; o < ys[1]; ++o) {
        T acc(0);
        for (std::int64_t n = 0; n < ys[0]; ++n) {
          const T* p = gy + (n * ys[1] + o) * plane;
          for (std::int64_t i = 0; i < plane; ++i) acc += p[i];
        }
        db[o] = acc;
      }
    });
  });
}

}  // namespace symgrad::reference
