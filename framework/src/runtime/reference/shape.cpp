// Reference kernels of the shape ops.

#include <cstring>

#include "kernel_helpers.hpp"

namespace symgrad::reference {
namespace {

// Strides into the input for walking a slice of it (begins offset returned separately).
std::int64_t slice_base(const Shape& in, const std::vector<std::int64_t>& begins) {
  auto st = strides_of(in);
  std::int64_t base = 0;
  for (std::size_t i = 0; i < begins.size(); ++i) base += begins[i] * st[i];
  return base;
}

}  // namespace

void register_shape_kernels(KernelRegistry& r) {
  r.add_kernel("reshape", kBackend, [](const KernelContext& c) { c.out().copy_from(c.in(0)); });
  r.add_kernel("transpose", kBackend, [](const KernelContext& c) {
    const auto& perm = c.attrs().get_ints("perm");
    auto in_st = strides_of(c.in(0).shape());
    std::vector<std::int64_t> st(perm.size());
    for (std::size_t i = 0; i < perm.size(); ++i) st[i] = in_st[static_cast<std::size_t>(perm[i])];
    const std::size_t es = dtype_size(c.in(0).dtype());
    const auto* x = static_cast<const std::byte*>(c.in(0).raw());
    auto* y = static_cast<std::byte*>(c.out().raw());
    for_each_offset(c.out().shape(), {st}, [&](std::int64_t i, const std::vector<std::int64_t>& off) {
      std::memcpy(y + static_cast<std::size_t>(i) * es, x + static_cast<std::size_t>(off[0]) * es, es);
    });
  });
  r.add_kernel("concat", kBackend, [](const KernelContext& c) {
    const Shape& out = c.out().shape();
    const std::int64_t axis = normalize_axis(c.attrs().get_int("axis"), out.rank());
    const AxisSplit os = split_at(out, axis);
    const std::size_t es = dtype_size(c.out().dtype());
    auto* y = static_cast<std::byte*>(c.out().raw());
    std::int64_t offset = 0;  // along the axis
    for (const Tensor& x : c.inputs) {
      const AxisSplit xs = split_at(x.shape(), axis);
      const auto* px = static_cast<const std::byte*>(x.raw());
      const auto block = static_cast<std::size_t>(xs.n * xs.inner) * es;
      for (std::int64_t o = 0; o < os.outer; ++o) {
        std::memcpy(y + static_cast<std::size_t>((o * os.n + offset) * os.inner) * es,
                    px + static_cast<std::size_t>(o) * block, block);
      }
      offset += xs.n;
    }
  });
  r.add_kernel("slice", kBackend, [](const KernelContext& c) {
    const Shape& in = c.in(0).shape();
    const std::int64_t base = slice_base(in, c.attrs().get_ints("begins"));
    const std::size_t es = dtype_size(c.in(0).dtype());
    const auto* x = static_cast<const std::byte*>(c.in(0).raw());
    auto* y = static_cast<std::byte*>(c.out().raw());
    for_each_offset(c.out().shape(), {strides_of(in)}, [&](std::int64_t i, const std::vector<std::int64_t>& off) {
      std::memcpy(y + static_cast<std::size_t>(i) * es, x + static_cast<std::size_t>(base + off[0]) * es, es);
    });
  });
  r.add_kernel("slice_grad", kBackend, [](const KernelContext& c) {
    const Shape& full = c.out().shape();
    const std::int64_t base = slice_base(full, c.attrs().get_ints("begins"));
    const std::size_t es = dtype_size(c.out().dtype());
    const auto* g = static_cast<const std::byte*>(c.in(0).raw());
    auto* y = static_cast<std::byte*>(c.out().raw());
    std::memset(y, 0, c.out().nbytes());
    for_each_offset(c.in(0).shape(), {strides_of(full)}, [&](std::int64_t i, const std::vector<std::int64_t>& off) {
      std::memcpy(y + static_cast<std::size_t>(base + off[0]) * es, g + static_cast<std::size_t>(i) * es, es);
    });
  });
}

}  // namespace symgrad::reference
