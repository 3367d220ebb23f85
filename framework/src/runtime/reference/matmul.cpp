// Reference kernel of (batched, broadcasting) matmul: a plain i-p-j loop per matrix.

#include <algorithm>

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

void register_matmul_kernels(OpRegistry& r) {
  r.add_kernel("matmul", kBackend, [](const KernelContext& c) {
    const Shape& as = c.in(0).shape();
    const Shape& bs = c.in(1).shape();
    const std::int64_t m = as[as.rank() - 2], k = as[as.rank() - 1], n = bs[bs.rank() - 1];
    if (bs[bs.rank() - 2] != k) {
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
                            const T av = pa[i * k + p];
                            for (std::int64_t j = 0; j < n; ++j) py[i * n + j] += av * pb[p * n + j];
                          }
                        }
                      });
    });
  });
}

}  // namespace symgrad::reference
