#include "kernel_helpers.hpp"

namespace symgrad {

void register_reference_kernels(KernelRegistry& r) {
  using namespace reference;
  register_elementwise_kernels(r);
  register_reduce_kernels(r);
  register_shape_kernels(r);
  register_matmul_kernels(r);
  register_nn_kernels(r);
  register_conv_kernels(r);
  register_pool_kernels(r);
  register_batch_norm_kernels(r);
  register_collective_kernels(r);
}

namespace reference {

std::vector<std::int64_t> strides_of(const Shape& s) {
  std::vector<std::int64_t> st(s.rank());
  std::int64_t acc = 1;
  for (std::size_t i = s.rank(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

std::vector<std::int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<std::int64_t> st(out.rank(), 0);
  const auto own = strides_of(in);
  const std::size_t lead = out.rank() - in.rank();
  for (std::size_t i = 0; i < in.rank(); ++i) {
    if (in[i] != 1 || out[lead + i] == 1) st[lead + i] = own[i];
    if (in[i] != 1 && in[i] != out[lead + i]) {
      throw ShapeError(fmt::format("run-time shapes {} and {} do not broadcast", in.to_string(),
                                   out.to_string()));
    }
  }
  return st;
}

Activation activation_of(const Attrs& attrs) {
  const std::string& a = attrs.get_string("activation");
  if (a == "relu") return Activation::relu;
  if (a == "tanh") return Activation::tanh;
  if (a == "sigmoid") return Activation::sigmoid;
  return Activation::none;
}

AxisSplit split_at(const Shape& shape, std::int64_t axis) {
  const auto a = static_cast<std::size_t>(normalize_axis(axis, shape.rank()));
  AxisSplit s;
  for (std::size_t i = 0; i < shape.rank(); ++i) {
    if (i < a) s.outer *= shape[i];
    if (i == a) s.n = shape[i];
    if (i > a) s.inner *= shape[i];
  }
  return s;
}

}  // namespace reference
}  // namespace symgrad
