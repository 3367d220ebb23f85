// Reference kernel of (batched, broadcasting, optionally transposed) matmul: a plain i-p-j loop
// per matrix.

#include <algorithm>
#include <cmath>

#include "kernel_helpers.hpp"

namespace symgrad::reference {
namespace {

Shape batch_of(const Shape& s) {
  return Shape(std::vector<std::int64_t>(s.dims().begin(), s.dims().end() - 2));
}

// Broadcast strides over the batch dimensions, in units of whole matrices.
std::vector<std::int64_t> matrix_strides(const Shape& batch_in, const Shape& batch_out) {
  return broadcast_strides(batch_in, batch_out);
}

}  // namespace

void register_linear_kernel(KernelRegistry& r);

void register_matmul_kernels(KernelRegistry& r) {
  register_linear_kernel(r);
  r.add_kernel("matmul", kBackend, [](const KernelContext& c) {
    const Shape& as = c.in(0).shape();
    const Shape& bs = c.in(1).shape();
    const bool ta = c.attrs().get_int("transpose_a", 0) != 0;
    const bool tb = c.attrs().get_int("transpose_b", 0) != 0;
    const std::int64_t ar = as[as.rank() - 2], ac = as[as.rank() - 1];
    const std::int64_t br = bs[bs.rank() - 2], bc = bs[bs.rank() - 1];
    const std::int64_t m = ta ? ac : ar, k = ta ? ar : ac, n = tb ? br : bc;
    // element strides of op(a)[i, p] and op(b)[p, j]
    const std::int64_t a_i = ta ? 1 : ac, a_p = ta ? ac : 1;
    const std::int64_t b_p = tb ? 1 : bc, b_j = tb ? bc : 1;
    if ((tb ? bc : br) != k) {
      throw ShapeError(fmt::format("{}: inner dimensions differ at run time: {} x {}", c.node.label(),
                                   as.to_string(), bs.to_string()));
    }
    const Shape out_batch = batch_of(c.out().shape());
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* a = c.in(0).data<T>();
      const T* b = c.in(1).data<T>();
      T* y = c.out().data<T>();
      for_each_offset(out_batch, {matrix_strides(batch_of(as), out_batch), matrix_strides(batch_of(bs), out_batch)},
                      [&](std::int64_t bi, const std::vector<std::int64_t>& off) {
                        const T* pa = a + off[0] * m * k;
                        const T* pb = b + off[1] * k * n;
                        T* py = y + bi * m * n;
                        std::fill(py, py + m * n, T(0));
                        for (std::int64_t i = 0; i < m; ++i) {
                          for (std::int64_t p = 0; p < k; ++p) {
                            const T av = pa[i * a_i + p * a_p];
                            for (std::int64_t j = 0; j < n; ++j) py[i * n + j] += av * pb[p * b_p + j * b_j];
                          }
                        }
                      });
    });
  });
}

}  // namespace symgrad::reference

namespace symgrad::reference {

// y = act(x w + b), row by row.
void register_linear_kernel(KernelRegistry& r) {
  r.add_kernel("linear", kBackend, [](const KernelContext& c) {
    const std::int64_t n = c.in(0).shape()[0], k = c.in(0).shape()[1], m = c.in(1).shape()[1];
    const Activation act = activation_of(c.attrs());
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* x = c.in(0).data<T>();
      const T* w = c.in(1).data<T>();
      const T* b = c.in(2).data<T>();
      T* y = c.out().data<T>();
      for (std::int64_t i = 0; i < n; ++i) {
        T* row = y + i * m;
        std::copy(b, b + m, row);
        for (std::int64_t p = 0; p < k; ++p) {
          const T xv = x[i * k + p];
          for (std::int64_t j = 0; j < m; ++j) row[j] += xv * w[p * m + j];
        }
        activate(act, row, m);
      }
    });
  });
}

}  // namespace symgrad::reference
