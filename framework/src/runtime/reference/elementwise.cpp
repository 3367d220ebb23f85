// Reference kernels of the elementwise ops.

#include <cmath>

#include "kernel_helpers.hpp"

namespace symgrad::reference {
namespace {

// y = f(x, attrs) elementwise, in the precision of the dtype.
template <class F>
KernelFn unary(F f) {
  return [f](const KernelContext& c) {
    dispatch_float(c, c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      const T* x = c.in(0).data<T>();
      T* y = c.out().data<T>();
      for (std::int64_t i = 0, n = c.out().numel(); i < n; ++i) y[i] = f(x[i], c.attrs());
    });
  };
}

template <class T>
void binary_loop(const KernelContext& c, auto f) {
  const T* a = c.in(0).data<T>();
  const T* b = c.in(1).data<T>();
  T* y = c.out().data<T>();
  const Shape& out = c.out().shape();
  for_each_offset(out, {broadcast_strides(c.in(0).shape(), out), broadcast_strides(c.in(1).shape(), out)},
                  [&](std::int64_t i, const std::vector<std::int64_t>& off) { y[i] = f(a[off[0]], b[off[1]]); });
}

// y = f(a, b) with broadcasting, floating dtypes.
template <class F>
KernelFn binary(F f) {
  return [f](const KernelContext& c) {
    dispatch_float(c, c.in(0).dtype(), [&](auto z) { binary_loop<decltype(z)>(c, f); });
  };
}

// 1 where f(a, b), else 0, for every dtype.
template <class F>
KernelFn compare(F f) {
  return [f](const KernelContext& c) {
    visit_dtype(c.in(0).dtype(), [&](auto z) {
      using T = decltype(z);
      binary_loop<T>(c, [&](T a, T b) { return f(a, b) ? T(1) : T(0); });
    });
  };
}

}  // namespace

void register_elementwise_kernels(KernelRegistry& r) {
  auto k = [&](const char* op, KernelFn fn) { r.add_kernel(op, kBackend, std::move(fn)); };
  k("add", binary([](auto a, auto b) { return a + b; }));
  k("sub", binary([](auto a, auto b) { return a - b; }));
  k("mul", binary([](auto a, auto b) { return a * b; }));
  k("div", binary([](auto a, auto b) { return a / b; }));
  // activation gradients from g and the output y
  k("relu_backward", binary([](auto g, auto y) { return y > decltype(y)(0) ? g : decltype(g)(0); }));
  k("tanh_backward", binary([](auto g, auto y) { return g * (decltype(y)(1) - y * y); }));
  k("sigmoid_backward", binary([](auto g, auto y) { return g * (y * (decltype(y)(1) - y)); }));
  k("neg", unary([](auto x, const Attrs&) { return -x; }));
  k("exp", unary([](auto x, const Attrs&) { return std::exp(x); }));
  k("log", unary([](auto x, const Attrs&) { return std::log(x); }));
  k("sin", unary([](auto x, const Attrs&) { return std::sin(x); }));
  k("cos", unary([](auto x, const Attrs&) { return std::cos(x); }));
  k("sqrt", unary([](auto x, const Attrs&) { return std::sqrt(x); }));
  k("square", unary([](auto x, const Attrs&) { return x * x; }));
  k("abs", unary([](auto x, const Attrs&) { return std::abs(x); }));
  k("sign", unary([](auto x, const Attrs&) {
      using T = decltype(x);
      return static_cast<T>((x > T(0)) - (x < T(0)));
    }));
  k("pow", unary([](auto x, const Attrs& a) {
      using T = decltype(x);
      return static_cast<T>(std::pow(x, static_cast<T>(a.get_float("p"))));
    }));
  k("relu", unary([](auto x, const Attrs&) { return x > 0 ? x : decltype(x)(0); }));
  k("leaky_relu", unary([](auto x, const Attrs& a) {
      using T = decltype(x);
      return x > 0 ? x : static_cast<T>(a.get_float("alpha")) * x;
    }));
  // sigmoid and softplus written so that neither overflows for large |x|
  k("sigmoid", unary([](auto x, const Attrs&) { return stable_sigmoid(x); }));
  k("tanh", unary([](auto x, const Attrs&) { return std::tanh(x); }));
  k("softplus", unary([](auto x, const Attrs&) {
      using T = decltype(x);
      return std::max(x, T(0)) + std::log1p(std::exp(-std::abs(x)));
    }));
  k("equal", compare([](auto a, auto b) { return a == b; }));
  k("not_equal", compare([](auto a, auto b) { return a != b; }));
  k("less", compare([](auto a, auto b) { return a < b; }));
  k("less_equal", compare([](auto a, auto b) { return a <= b; }));
  k("greater", compare([](auto a, auto b) { return a > b; }));
  k("greater_equal", compare([](auto a, auto b) { return a >= b; }));
  k("where", [](const KernelContext& c) {
    const Tensor& m = c.in(0);
    const Shape& out = c.out().shape();
    dispatch_float(c, c.out().dtype(), [&](auto z) {
      using T = decltype(z);
      const T* a = c.in(1).data<T>();
      const T* b = c.in(2).data<T>();
      T* y = c.out().data<T>();
      for_each_offset(out,
                      {broadcast_strides(m.shape(), out), broadcast_strides(c.in(1).shape(), out),
                       broadcast_strides(c.in(2).shape(), out)},
                      [&](std::int64_t i, const std::vector<std::int64_t>& off) {
                        y[i] = m.get(off[0]) != 0.0 ? a[off[1]] : b[off[2]];
                      });
    });
  });
  k("cast", [](const KernelContext& c) {
    for (std::int64_t i = 0, n = c.out().numel(); i < n; ++i) c.out().set(i, c.in(0).get(i));
  });
  k("fill_like", [](const KernelContext& c) { c.out().fill(c.attrs().get_float("value")); });
}

}  // namespace symgrad::reference
