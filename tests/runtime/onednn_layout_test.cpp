// The onednn backend's kernels given inputs in oneDNN's blocked layouts, as a plan hands them over
// from a convolution (PrepareContext::input_layouts): called through the registry's factories on
// tensors reordered into nChw16c here, against sums and products computed on the plain tensors.

#include <cmath>
#include <cstring>

#include <gtest/gtest.h>
#include <oneapi/dnnl/dnnl.hpp>

#include "symgrad/symgrad.hpp"

namespace symgrad {
namespace {

using md = dnnl::memory::desc;
using tag = dnnl::memory::format_tag;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// x [N, C, H, W] (f32, plain) as a tensor holding its bytes in nChw16c, and that layout.
std::pair<Tensor, LayoutPtr> blocked(const Tensor& x) {
  const md plain({x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]}, dnnl::memory::data_type::f32, tag::nchw);
  const md to(plain.dims(), dnnl::memory::data_type::f32, tag::nChw16c);
  Tensor out(DType::f32, Shape{static_cast<std::int64_t>(to.get_size() / sizeof(float))});
  dnnl::memory src(plain, engine(), const_cast<void*>(x.raw())), dst(to, engine(), out.raw());
  dnnl::stream s(engine());
  dnnl::reorder(src, dst).execute(s, src, dst);
  s.wait();
  auto layout = std::make_shared<Layout>();
  layout->desc = std::make_shared<const md>(to);
  layout->bytes = to.get_size();
  layout->name = "aBcd16b";
  return {out, layout};
}

Tensor wave(const Shape& shape, double freq) {
  Tensor t(DType::f32, shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, std::sin(freq * static_cast<double>(i) + 0.3));
  return t;
}

// Runs the onednn kernel of `node` on `inputs`; `layouts[i]` (if any) is how input i is stored.
Tensor run_onednn(const Node& node, const std::vector<Tensor>& inputs, const std::vector<LayoutPtr>& layouts,
                  Precision precision = Precision::f32) {
  std::vector<TensorType> in, out = node.outputs;
  for (const auto& v : node.inputs) in.push_back(v.type());
  const auto& factory = *KernelRegistry::global().factory(node.op->name, "onednn");
  auto kernel = factory(PrepareContext{node, in, out, {}, nullptr, layouts, {}, nullptr, precision});
  EXPECT_TRUE(kernel);
  std::vector<Tensor> outs = {Tensor(out[0])};
  kernel->run(KernelContext{node, inputs, outs, nullptr});
  return outs[0];
}

// Sums over every axis but the channels read the blocked layout directly (the channel count, 20,
// pads to 32); other sums reorder to plain first. Both give the plain sums.
TEST(OnednnLayouts, SumToLikeReadsBlockedInputs) {
  const Shape xs{2, 20, 3, 3};
  const Tensor x = wave(xs, 0.61);
  auto [xb, layout] = blocked(x);
  for (const Shape& like : {Shape{1, 20, 1, 1}, Shape{1, 1, 1, 1}, Shape{1, 20, 3, 3}}) {
    Graph g;
    auto xv = g.input("x", {DType::f32, xs});
    auto lv = g.input("like", {DType::f32, like});
    const Value s = sum_to_like(xv, lv);
    const Tensor got = run_onednn(s.producer(), {xb, Tensor(DType::f32, like)}, {layout, nullptr});
    std::vector<double> want(static_cast<std::size_t>(like.numel()), 0.0);
    for (std::int64_t n = 0; n < 2; ++n) {
      for (std::int64_t c = 0; c < 20; ++c) {
        for (std::int64_t p = 0; p < 9; ++p) {
          const std::int64_t k = like[1] == 1 ? 0 : (like[2] == 1 ? c : c * 9 + p);
          want[static_cast<std::size_t>(k)] += x.get((n * 20 + c) * 9 + p);
        }
      }
    }
    for (std::int64_t k = 0; k < like.numel(); ++k) {
      EXPECT_NEAR(got.get(k), want[static_cast<std::size_t>(k)], 1e-5) << like.to_string() << " [" << k << "]";
    }
  }
}

// relu_backward with y blocked and g plain: g is reordered to y's layout, and the result (not
// allowed a layout here) is reordered back to plain.
TEST(OnednnLayouts, ActivationGradientMixesLayouts) {
  const Shape xs{2, 20, 3, 3};
  const Tensor y = wave(xs, 0.83), gr = wave(xs, 0.29);
  auto [yb, layout] = blocked(y);
  Graph g;
  auto gv = g.input("g", {DType::f32, xs});
  auto yv = g.input("y", {DType::f32, xs});
  const Value dx = g.apply("relu_backward", {gv, yv})[0];
  const Tensor got = run_onednn(dx.producer(), {gr, yb}, {nullptr, layout});
  for (std::int64_t i = 0; i < y.numel(); ++i) {
    EXPECT_EQ(got.get(i), y.get(i) > 0 ? gr.get(i) : 0.0) << i;
  }
}

// With bf16 operands, a convolution's input stored in nChw16c f32 is rounded into nChw16c bf16
// element by element (the padded channels too: 20 pad to 32), the weights by a reorder: the
// result equals the reference convolution of the rounded operands.
TEST(OnednnLayouts, Bf16ConvolutionRoundsABlockedInput) {
  if (!native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU: bf16 plans compute in f32";
  const Shape xs{2, 20, 6, 6}, ws{8, 20, 3, 3};
  Tensor x = wave(xs, 0.83), w = wave(ws, 0.29);
  auto [xb, layout] = blocked(x);
  Graph g;
  auto xv = g.input("x", {DType::f32, xs});
  auto wv = g.input("w", {DType::f32, ws});
  const Value y = conv2d(xv, wv);
  const Tensor got = run_onednn(y.producer(), {xb, w}, {layout, nullptr}, Precision::bf16);
  auto rounded = [](Tensor t) {  // to nearest even, as the conversion
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      float v = static_cast<float>(t.get(i));
      std::uint32_t u;
      std::memcpy(&u, &v, 4);
      u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
      std::memcpy(&v, &u, 4);
      t.set(i, v);
    }
    return t;
  };
  Plan ref = compile(g, {y});
  const Tensor& want = ref.run({{"x", rounded(x.clone())}, {"w", rounded(w.clone())}})[0];
  double apart = 0;
  const Tensor full = run_onednn(y.producer(), {xb, w}, {layout, nullptr});
  for (std::int64_t i = 0; i < want.numel(); ++i) {
    ASSERT_NEAR(got.get(i), want.get(i), 1e-4 * std::max(1.0, std::abs(want.get(i)))) << i;
    apart = std::max(apart, std::abs(full.get(i) - got.get(i)));
  }
  EXPECT_GT(apart, 1e-4) << "the f32 result: nothing was rounded";
}

}  // namespace
}  // namespace symgrad
