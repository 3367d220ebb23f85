// The onednn backend's kernels given inputs in oneDNN's blocked layouts, as a plan hands them over
// from a convolution (PrepareContext::input_layouts): called through the registry's factories on
// tensors reordered into nChw16c here, against sums and products computed on the plain tensors.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include <fmt/format.h>
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

md plain_md(const Shape& s) {
  return md({s[0], s[1], s[2], s[3]}, dnnl::memory::data_type::f32, tag::nchw);
}

// Copies `from` (described by `from_md`) into `to` (by `to_md`): a reorder, converting types.
void reorder(const void* from, const md& from_md, void* to, const md& to_md) {
  dnnl::memory src(from_md, engine(), const_cast<void*>(from)), dst(to_md, engine(), to);
  dnnl::stream s(engine());
  dnnl::reorder(src, dst).execute(s, src, dst);
  s.wait();
}

// x [N, C, H, W] (f32, plain) as a tensor holding its bytes in nChw16c with elements of type `dt`
// (bf16: rounded to nearest even), and that layout.
std::pair<Tensor, LayoutPtr> blocked(const Tensor& x, dnnl::memory::data_type dt = dnnl::memory::data_type::f32,
                                     tag block = tag::nChw16c) {
  const md to(plain_md(x.shape()).dims(), dt, block);
  Tensor out(DType::f32, Shape{static_cast<std::int64_t>((to.get_size() + 3) / 4)});
  reorder(x.raw(), plain_md(x.shape()), out.raw(), to);
  auto layout = std::make_shared<Layout>();
  layout->desc = std::make_shared<const md>(to);
  layout->bytes = to.get_size();
  layout->name = std::string(block == tag::nChw16c ? "aBcd16b" : block == tag::nChw8c ? "aBcd8b" : "acdb") +
                 (dt == dnnl::memory::data_type::bf16 ? ":bf16" : "");
  return {out, layout};
}

// A tensor held in `layout` as a plain f32 tensor of `shape`.
Tensor plain_of(const Tensor& t, const LayoutPtr& layout, const Shape& shape) {
  if (!layout) return t;
  Tensor out(DType::f32, shape);
  reorder(t.raw(), *static_cast<const md*>(layout->desc.get()), out.raw(), plain_md(shape));
  return out;
}

// x rounded to bf16 (to nearest even) and back: the values a bf16 layout holds.
Tensor rounded(Tensor t) {
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    float v = static_cast<float>(t.get(i));
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    std::memcpy(&v, &u, 4);
    t.set(i, v);
  }
  return t;
}

Tensor wave(const Shape& shape, double freq) {
  Tensor t(DType::f32, shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, std::sin(freq * static_cast<double>(i) + 0.3));
  return t;
}

// Runs the onednn kernel of `node` on `inputs`; `layouts[i]` (if any) is how input i is stored.
// With `layout_out`, output 0 may be written in a layout of the kernel's choice (as for a consumer
// that accepts one); the result is returned plain either way.
Tensor run_onednn(const Node& node, const std::vector<Tensor>& inputs, const std::vector<LayoutPtr>& layouts,
                  Precision precision = Precision::f32, bool layout_out = false) {
  std::vector<TensorType> in, out = node.outputs;
  for (const auto& v : node.inputs) in.push_back(v.type());
  const auto& factory = *KernelRegistry::global().factory(node.op->name, "onednn");
  std::vector<LayoutPtr> out_layouts(out.size());
  std::vector<bool> may(out.size(), false);
  may[0] = layout_out;
  auto kernel = factory(PrepareContext{node, in, out, {}, nullptr, layouts, may, &out_layouts, precision});
  EXPECT_TRUE(kernel);
  std::vector<Tensor> outs;
  for (std::size_t k = 0; k < out.size(); ++k) {  // as a plan would: room for the plain tensor and the layout
    const std::size_t bytes = std::max(static_cast<std::size_t>(out[k].shape.numel()) * sizeof(float),
                                       out_layouts[k] ? out_layouts[k]->bytes : 0);
    auto block = std::make_shared<Tensor>(DType::f32, Shape{static_cast<std::int64_t>(bytes / sizeof(float)) + 1});
    outs.push_back(Tensor::wrap(std::shared_ptr<std::byte>(block, static_cast<std::byte*>(block->raw())), out[k]));
  }
  kernel->run(KernelContext{node, inputs, outs, nullptr});
  return plain_of(outs[0], out_layouts[0], out[0].shape);
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

// In a bf16 plan a convolution's output that stays in a layout holds bf16 elements, and every
// kernel that accepts layouts must read it: each result here is its computation on the rounded
// values, exactly where the kernel only selects or moves values, within the rounding of a bf16
// output or of f32 sums elsewhere. Each kernel runs with its output plain and in a layout of its
// choice (a bf16 one where its input was). x has 20 channels: the blocks pad them to 32.
TEST(OnednnLayouts, KernelsReadBf16Layouts) {
  if (!native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU: bf16 plans store no bf16 values";
  using dt = dnnl::memory::data_type;
  const Shape xs{2, 20, 6, 6}, ps{2, 20, 3, 3};
  const Tensor x = wave(xs, 0.83), rx = rounded(x);
  const Tensor gy = wave(xs, 0.29), rg = rounded(gy);  // a gradient of x's shape
  const Tensor gp = wave(ps, 0.61);                     // a gradient of the pooled shape
  auto [xb, xl] = blocked(x, dt::bf16);
  auto [gb, gl] = blocked(gy, dt::bf16);
  EXPECT_EQ(xl->name, "aBcd16b:bf16");
  Graph g;
  auto xv = g.input("x", {DType::f32, xs});
  auto gv = g.input("g", {DType::f32, xs});
  auto pv = g.input("gp", {DType::f32, ps});
  const Value relu_y = relu(xv), max_y = max_pool2d(xv, {2, 2}), avg_y = avg_pool2d(xv, {2, 2});
  const Value relu_dx = g.apply("relu_backward", {gv, xv})[0];
  const Value max_dx = g.apply("max_pool2d_backward", {xv, pv}, max_y.producer().attrs)[0];
  const Value channel_sum = sum_to_like(xv, g.input("like", {DType::f32, Shape{1, 20, 1, 1}}));
  const Tensor gamma = wave(Shape{20}, 0.4), beta = wave(Shape{20}, 0.9);
  auto gammav = g.input("gamma", {DType::f32, Shape{20}});
  const Value bn_y = batch_norm(xv, gammav, g.input("beta", {DType::f32, Shape{20}})).y;
  const Value bn_dx = g.apply("batch_norm_backward", {gv, xv, gammav, g.input("mean", {DType::f32, Shape{20}}),
                                                      g.input("var", {DType::f32, Shape{20}})},
                              bn_y.producer().attrs)[0];
  std::vector<double> mean(20, 0.0), var(20, 0.0);  // batch statistics of the rounded x
  for (std::int64_t i = 0; i < x.numel(); ++i) mean[static_cast<std::size_t>(i / 36 % 20)] += rx.get(i) / 72;
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const auto c = static_cast<std::size_t>(i / 36 % 20);
    var[c] += (rx.get(i) - mean[c]) * (rx.get(i) - mean[c]) / 72;
  }
  auto window = [](std::int64_t i) {  // the 4 indices of x under pooled element i
    const std::int64_t nc = i / 9, oh = i / 3 % 3, ow = i % 3;
    std::array<std::int64_t, 4> at{};
    for (int k = 0; k < 4; ++k) at[static_cast<std::size_t>(k)] = nc * 36 + (2 * oh + k / 2) * 6 + 2 * ow + k % 2;
    return at;
  };
  for (const bool layout_out : {false, true}) {
    SCOPED_TRACE(layout_out ? "output in a layout" : "plain output");
    auto run = [&](const Value& v, const std::vector<Tensor>& in, const std::vector<LayoutPtr>& layouts) {
      return run_onednn(v.producer(), in, layouts, Precision::bf16, layout_out);
    };
    const Tensor relu_got = run(relu_y, {xb}, {xl});
    for (std::int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(relu_got.get(i), std::max(0.0, rx.get(i))) << i;
    const Tensor max_got = run(max_y, {xb}, {xl}), avg_got = run(avg_y, {xb}, {xl});
    for (std::int64_t i = 0; i < ps.numel(); ++i) {
      double m = -1e9, average = 0;
      for (auto j : window(i)) m = std::max(m, rx.get(j)), average += rx.get(j) / 4;
      ASSERT_EQ(max_got.get(i), m) << i;
      ASSERT_NEAR(avg_got.get(i), average, 4e-3 * std::max(1.0, std::abs(average))) << i;  // rounded to bf16
    }
    const Tensor bn_got = run(bn_y, {xb, gamma, beta}, {xl, nullptr, nullptr});
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const auto c = static_cast<std::size_t>(i / 36 % 20);
      const double want = (rx.get(i) - mean[c]) / std::sqrt(var[c] + 1e-5) * gamma.get(static_cast<std::int64_t>(c)) +
                          beta.get(static_cast<std::int64_t>(c));
      ASSERT_NEAR(bn_got.get(i), want, 1e-2 * std::max(1.0, std::abs(want))) << i;  // rounded to bf16
    }
    // dx = gamma / sqrt(var + eps) * (g - mean(g) - xhat * mean(g * xhat)), means over the channel
    Tensor mean_t(DType::f32, Shape{20}), var_t(DType::f32, Shape{20});
    for (std::int64_t c = 0; c < 20; ++c) {
      mean_t.set(c, mean[static_cast<std::size_t>(c)]);
      var_t.set(c, var[static_cast<std::size_t>(c)]);
    }
    const Tensor bn_dx_got = run(bn_dx, {gb, xb, gamma, mean_t, var_t}, {gl, xl, nullptr, nullptr, nullptr});
    std::vector<double> mg(20, 0.0), mgx(20, 0.0);
    auto xhat = [&](std::int64_t i) {
      const auto c = static_cast<std::size_t>(i / 36 % 20);
      return (rx.get(i) - mean[c]) / std::sqrt(var[c] + 1e-5);
    };
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      mg[static_cast<std::size_t>(i / 36 % 20)] += rg.get(i) / 72;
      mgx[static_cast<std::size_t>(i / 36 % 20)] += rg.get(i) * xhat(i) / 72;
    }
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      const auto c = static_cast<std::size_t>(i / 36 % 20);
      const double want = gamma.get(static_cast<std::int64_t>(c)) / std::sqrt(var[c] + 1e-5) * (rg.get(i) - mg[c] - xhat(i) * mgx[c]);
      ASSERT_NEAR(bn_dx_got.get(i), want, 1e-2 * std::max(1.0, std::abs(want))) << i;
    }
    // relu's gradient: g stored alike (the backend's own select on bf16 values) or plain f32 (rounded to y's layout)
    for (const bool g_blocked : {true, false}) {
      const Tensor got = g_blocked ? run(relu_dx, {gb, xb}, {gl, xl}) : run(relu_dx, {gy, xb}, {nullptr, xl});
      for (std::int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(got.get(i), rx.get(i) > 0 ? rg.get(i) : 0.0) << i;
    }
    // max pooling's gradient (running the forward itself): each rounded gradient to its window's
    // largest element (windows whose largest element is there twice are skipped: either may take it)
    const Tensor max_dx_got = run(max_dx, {xb, gp}, {xl, nullptr});
    const Tensor rp = rounded(gp);
    for (std::int64_t i = 0; i < ps.numel(); ++i) {
      const auto at = window(i);
      double m = -1e9;
      for (auto j : at) m = std::max(m, rx.get(j));
      if (std::count_if(at.begin(), at.end(), [&](std::int64_t j) { return rx.get(j) == m; }) > 1) continue;
      for (auto j : at) ASSERT_EQ(max_dx_got.get(j), rx.get(j) == m ? rp.get(i) : 0.0) << i << " " << j;
    }
  }
  // the channel sums of a bias gradient (plain output: a bias is a parameter)
  const Tensor sums = run_onednn(channel_sum.producer(), {xb, Tensor(DType::f32, Shape{1, 20, 1, 1})}, {xl, nullptr});
  for (std::int64_t c = 0; c < 20; ++c) {
    double want = 0;
    for (std::int64_t n = 0; n < 2; ++n) {
      for (std::int64_t p = 0; p < 36; ++p) want += rx.get((n * 20 + c) * 36 + p);
    }
    EXPECT_NEAR(sums.get(c), want, 1e-4) << c;
  }
}

// Max pooling over non-overlapping windows of a blocked or channels-last tensor, its result
// allowed to stay in the layout, runs on the host (the onednn backend's pool_blocked.hpp) with the
// reference's semantics: a window's maximum is its first element replaced by each later one
// strictly greater (ties keep the first; a NaN first stays; a later NaN is passed over), and the
// gradient goes, as g + 0 (-0 becomes +0), to that element; 0 everywhere else, the rows and
// columns no window covers too (7 = 2 x 3 + 1). The forward's result is also written as a plain
// tensor (for a consumer that reads one). Blocks of 16 channels (AVX-512) and of 8 (AVX2),
// where this process may use them (20 channels pad to 32 or 24), and channels last (32 channels,
// taken 16 or 8 at a time).
TEST(OnednnLayouts, MaxPoolingOfBlockedTensorsRunsOnTheHost) {
  const std::string isa = instruction_sets().chains;
  struct Layout {
    tag format;
    std::int64_t channels;
    const char* name;
    bool wide;  // needs AVX-512
  };
  for (const Layout& l : {Layout{tag::nChw16c, 20, "blocks of 16", true}, Layout{tag::nChw8c, 20, "blocks of 8", false},
                          Layout{tag::nhwc, 32, "channels last", false}}) {
    if (isa == "none" || (l.wide && isa != "avx512")) continue;
    const std::int64_t C = l.channels;
    for (const std::int64_t k : {2, 3}) {
      SCOPED_TRACE(fmt::format("{}, {}x{} windows", l.name, k, k));
      const Shape xs{2, C, 7, 7}, ps{2, C, 7 / k, 7 / k};
      Tensor x = wave(xs, 0.37);
      const auto at = [&](std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w) { return ((n * C + c) * 7 + h) * 7 + w; };
      const double nan = std::numeric_limits<double>::quiet_NaN();
      x.set(at(0, 3, 0, 0), nan);                      // a NaN first: the window's maximum is NaN
      x.set(at(0, 4, 0, 1), nan);                      // a NaN later: passed over
      x.set(at(1, 5, 1, 1), 2.0), x.set(at(1, 5, 1, 0), 2.0);  // a tie at the maximum: the first (1, 0) takes it
      Tensor gp = wave(ps, 0.53);
      gp.set(0, -0.0);
      auto [xb, xl] = blocked(x, dnnl::memory::data_type::f32, l.format);
      Graph g;
      auto xv = g.input("x", {DType::f32, xs});
      auto pv = g.input("gp", {DType::f32, ps});
      const Value y = max_pool2d(xv, {k, k});
      const Value dx = g.apply("max_pool2d_backward", {xv, pv}, y.producer().attrs)[0];
      const Tensor got_y = run_onednn(y.producer(), {xb}, {xl}, Precision::f32, true);
      const Tensor got_plain_y = run_onednn(y.producer(), {xb}, {xl}, Precision::f32, false);  // written plain
      const Tensor got_dx = run_onednn(dx.producer(), {xb, gp}, {xl, nullptr}, Precision::f32, true);
      std::vector<double> want_dx(static_cast<std::size_t>(xs.numel()), 0.0);
      for (std::int64_t n = 0; n < 2; ++n) {
        for (std::int64_t c = 0; c < C; ++c) {
          for (std::int64_t i = 0; i < ps[2]; ++i) {
            for (std::int64_t j = 0; j < ps[3]; ++j) {
              std::int64_t best = at(n, c, i * k, j * k);
              for (std::int64_t a = 0; a < k; ++a) {
                for (std::int64_t b = 0; b < k; ++b) {
                  if (x.get(at(n, c, i * k + a, j * k + b)) > x.get(best)) best = at(n, c, i * k + a, j * k + b);
                }
              }
              const std::int64_t o = ((n * C + c) * ps[2] + i) * ps[3] + j;
              const double m = got_y.get(o), want = x.get(best);
              ASSERT_TRUE(std::isnan(want) ? std::isnan(m) : m == want) << "y[" << o << "] = " << m << ", want " << want;
              const double mp = got_plain_y.get(o);
              ASSERT_TRUE(std::isnan(want) ? std::isnan(mp) : mp == want) << "plain y[" << o << "] = " << mp;
              want_dx[static_cast<std::size_t>(best)] = gp.get(o) + 0.0;
            }
          }
        }
      }
      EXPECT_TRUE(std::isnan(got_y.get(3 * ps[2] * ps[3])));
      for (std::int64_t i = 0; i < xs.numel(); ++i) {
        const double v = got_dx.get(i);
        ASSERT_EQ(std::memcmp(&v, &want_dx[static_cast<std::size_t>(i)], sizeof v), 0)
            << "dx[" << i << "] = " << v << ", want " << want_dx[static_cast<std::size_t>(i)];
      }
    }
  }
}

}  // namespace
}  // namespace symgrad
