// Reference kernels of batch normalization (training statistics and inference).

#include <cmath>

#include "kernel_helpers.hpp"

namespace symgrad::reference {
namespace {

// x as [n, channels, spatial]: [N, C] has spatial 1, [N, C, H, W] has spatial H W.
struct Layout {
  std::int64_t n, c, spatial;
};
Layout layout(const Shape& x) {
  return {x[0], x[1], x.rank() == 4 ? x[2] * x[3] : 1};
}

// y = gamma (x - mean) / sqrt(var + eps) + beta per channel.
template <class T>
void normalize(const Layout& l, const T* x, const T* gamma, const T* beta, const T* mean,
               const T* var, T eps, T* y) {
  for (std::int64_t ch = 0; ch < l.c; ++ch) {
    const T scale = gamma[ch] / std::sqrt(var[ch] + eps);
    for (std::int64_t i = 0; i < l.n; ++i) {
      const std::int64_t base = (i * l.c + ch) * l.spatial;
      for (std::int64_t s = 0; s < l.spatial; ++s) y[base + s] = (x[base + s] - mean[ch]) * scale + beta[ch];
    }
  }
}

}  // namespace

void register_batch_norm_kernels(KernelRegistry& r) {
  // outputs y, batch mean, biased batch variance (two-pass for accuracy)
  r.add_kernel("batch_norm", kBackend, [](const KernelContext& c) {
    const Layout l = layout(c.in(0).shape());
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* x = c.in(0).data<T>();
      T* mean = c.out(1).data<T>();
      T* var = c.out(2).data<T>();
      const T count = static_cast<T>(l.n * l.spatial);
      for (std::int64_t ch = 0; ch < l.c; ++ch) {
        T s = 0;
        for (std::int64_t i = 0; i < l.n; ++i) {
          for (std::int64_t k = 0; k < l.spatial; ++k) s += x[(i * l.c + ch) * l.spatial + k];
        }
        mean[ch] = s / count;
        T v = 0;
        for (std::int64_t i = 0; i < l.n; ++i) {
          for (std::int64_t k = 0; k < l.spatial; ++k) {
            const T d = x[(i * l.c + ch) * l.spatial + k] - mean[ch];
            v += d * d;
          }
        }
        var[ch] = v / count;
      }
      normalize<T>(l, x, c.in(1).data<T>(), c.in(2).data<T>(), mean, var,
                   static_cast<T>(c.attrs().get_float("eps")), c.out(0).data<T>());
    });
  });
  // inputs (g, x, gamma, mean, var) -> dx, dgamma, dbeta
  r.add_kernel("batch_norm_backward", kBackend, [](const KernelContext& c) {
    const Layout l = layout(c.in(1).shape());
    dispatch_float(c, c.in(1).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* g = c.in(0).data<T>();
      const T* x = c.in(1).data<T>();
      const T* gamma = c.in(2).data<T>();
      const T* mean = c.in(3).data<T>();
      const T* var = c.in(4).data<T>();
      T* dx = c.out(0).data<T>();
      T* dgamma = c.out(1).data<T>();
      T* dbeta = c.out(2).data<T>();
      const T eps = static_cast<T>(c.attrs().get_float("eps"));
      const T count = static_cast<T>(l.n * l.spatial);
      for (std::int64_t ch = 0; ch < l.c; ++ch) {
        const T rstd = T(1) / std::sqrt(var[ch] + eps);
        T sg = 0, sgx = 0;
        for (std::int64_t i = 0; i < l.n; ++i) {
          for (std::int64_t k = 0; k < l.spatial; ++k) {
            const std::int64_t at = (i * l.c + ch) * l.spatial + k;
            sg += g[at];
            sgx += g[at] * (x[at] - mean[ch]) * rstd;
          }
        }
        dgamma[ch] = sgx;
        dbeta[ch] = sg;
        for (std::int64_t i = 0; i < l.n; ++i) {
          for (std::int64_t k = 0; k < l.spatial; ++k) {
            const std::int64_t at = (i * l.c + ch) * l.spatial + k;
            const T xhat = (x[at] - mean[ch]) * rstd;
            dx[at] = gamma[ch] * rstd * (g[at] - sg / count - xhat * sgx / count);
          }
        }
      }
    });
  });
  r.add_kernel("batch_norm_inference", kBackend, [](const KernelContext& c) {
    const Layout l = layout(c.in(0).shape());
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      normalize<T>(l, c.in(0).data<T>(), c.in(1).data<T>(), c.in(2).data<T>(), c.in(3).data<T>(),
                   c.in(4).data<T>(), static_cast<T>(c.attrs().get_float("eps")), c.out().data<T>());
    });
  });
}

}  // namespace symgrad::reference
