// Reference kernels of softmax, log_softmax, softmax cross-entropy, one_hot, mse, dropout.

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernel_helpers.hpp"

namespace symgrad::reference {
namespace {

std::int64_t label_at(const KernelContext& c, const Tensor& labels, std::int64_t i,
                      std::int64_t classes) {
  const auto v = static_cast<std::int64_t>(labels.get(i));
  if (v < 0 || v >= classes) {
    throw Error(fmt::format("{}: label {} at position {} is outside [0, {})", c.node.label(), v, i,
                            classes));
  }
  return v;
}

// softmax (log = false) or log_softmax (log = true) along the op's axis, max-shifted.
KernelFn softmax_kernel(bool log) {
  return [log](const KernelContext& c) {
    const AxisSplit s = split_at(c.in(0).shape(), c.attrs().get_int("axis"));
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* x = c.in(0).data<T>();
      T* y = c.out().data<T>();
      for (std::int64_t o = 0; o < s.outer; ++o) {
        for (std::int64_t in = 0; in < s.inner; ++in) {
          auto at = [&](std::int64_t j) { return (o * s.n + j) * s.inner + in; };
          T m = -std::numeric_limits<T>::infinity();
          for (std::int64_t j = 0; j < s.n; ++j) m = std::max(m, x[at(j)]);
          T total = 0;
          for (std::int64_t j = 0; j < s.n; ++j) total += std::exp(x[at(j)] - m);
          const T lse = m + std::log(total);
          for (std::int64_t j = 0; j < s.n; ++j) {
            y[at(j)] = log ? x[at(j)] - lse : std::exp(x[at(j)] - lse);
          }
        }
      }
    });
  };
}

}  // namespace

void register_nn_kernels(KernelRegistry& r) {
  // dx = y (g - sum(g y)) for softmax, g - exp(y) sum(g) for log_softmax, along the axis
  r.add_kernel("softmax_backward", kBackend, [](const KernelContext& c) {
    const AxisSplit s = split_at(c.in(0).shape(), c.attrs().get_int("axis"));
    const bool log = c.attrs().get_int("log") != 0;
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* g = c.in(0).data<T>();
      const T* y = c.in(1).data<T>();
      T* dx = c.out().data<T>();
      for (std::int64_t o = 0; o < s.outer; ++o) {
        for (std::int64_t in = 0; in < s.inner; ++in) {
          auto at = [&](std::int64_t j) { return (o * s.n + j) * s.inner + in; };
          T total = 0;
          for (std::int64_t j = 0; j < s.n; ++j) total += log ? g[at(j)] : g[at(j)] * y[at(j)];
          for (std::int64_t j = 0; j < s.n; ++j) {
            dx[at(j)] = log ? g[at(j)] - std::exp(y[at(j)]) * total : y[at(j)] * (g[at(j)] - total);
          }
        }
      }
    });
  });
  r.add_kernel("softmax", kBackend, softmax_kernel(false));
  r.add_kernel("log_softmax", kBackend, softmax_kernel(true));
  // loss_i = logsumexp(z_i) - z_i[y_i], with the max subtracted first
  r.add_kernel("softmax_cross_entropy", kBackend, [](const KernelContext& c) {
    const std::int64_t n = c.in(0).shape()[0], k = c.in(0).shape()[1];
    if (c.in(1).numel() != n) {
      throw ShapeError(fmt::format("{}: {} rows of logits but {} labels", c.node.label(), n,
                                   c.in(1).numel()));
    }
    dispatch_float(c, c.in(0).dtype(), [&](auto zt) {
      using T = decltype(zt);
      const T* z = c.in(0).data<T>();
      T* y = c.out().data<T>();
      for (std::int64_t i = 0; i < n; ++i) {
        const T* row = z + i * k;
        const T m = *std::max_element(row, row + k);
        T total = 0;
        for (std::int64_t j = 0; j < k; ++j) total += std::exp(row[j] - m);
        y[i] = m + std::log(total) - row[label_at(c, c.in(1), i, k)];
      }
    });
  });
  r.add_kernel("one_hot", kBackend, [](const KernelContext& c) {
    const std::int64_t depth = c.attrs().get_int("depth");
    c.out().fill(0.0);
    for (std::int64_t i = 0, n = c.in(0).numel(); i < n; ++i) {
      c.out().set(i * depth + label_at(c, c.in(0), i, depth), 1.0);
    }
  });
  r.add_kernel("mse", kBackend, [](const KernelContext& c) {
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* p = c.in(0).data<T>();
      const T* t = c.in(1).data<T>();
      const std::int64_t n = c.in(0).numel();
      T total = 0;
      for (std::int64_t i = 0; i < n; ++i) total += (p[i] - t[i]) * (p[i] - t[i]);
      c.out().template data<T>()[0] = n ? total / static_cast<T>(n) : T(0);
    });
  });
  r.add_kernel("dropout", kBackend, [](const KernelContext& c) {
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* x = c.in(0).data<T>();
      const T* m = c.in(1).data<T>();
      T* y = c.out().data<T>();
      const T scale = static_cast<T>(1.0 / (1.0 - c.attrs().get_float("p")));
      for (std::int64_t i = 0, n = c.out().numel(); i < n; ++i) y[i] = x[i] * m[i] * scale;
    });
  });
}

}  // namespace symgrad::reference
