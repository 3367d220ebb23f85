#include "context.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <string>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/runtime/threads.hpp"

namespace symgrad {

bool native_bf16() {
  // oneDNN's ISAs are bit sets, not an order (avx2_vnni's value is above avx512_core_bf16's)
  static const bool native = [] {
    const auto have = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
    return (have & bf16) == bf16;
  }();
  return native;
}

void register_onednn_kernels(KernelRegistry& r) {
  using namespace onednn;
  register_elementwise_kernels(r);
  register_matmul_kernels(r);
  register_reduce_kernels(r);
  register_nn_kernels(r);
  register_conv_kernels(r);
  register_pool_kernels(r);
  register_shape_kernels(r);
  register_host_kernels(r);
}

namespace onednn {

dnnl::engine& engine() {
  static dnnl::engine e = [] {
    apply_thread_environment();
    return dnnl::engine(dnnl::engine::kind::cpu, 0);
  }();
  return e;
}

dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());  // one per thread: plans may run in several threads at once
  return s;
}

dims dims_of(const Shape& s, std::size_t rank) {
  dims d(s.dims().begin(), s.dims().end());
  while (d.size() < rank) d.insert(d.begin(), 1);
  if (d.empty()) d.push_back(1);
  return d;
}

dims plain_strides(const dims& d) {
  dims st(d.size());
  dnnl::memory::dim acc = 1;
  for (std::size_t i = d.size(); i-- > 0;) {
    st[i] = acc;
    acc *= d[i];
  }
  return st;
}

md plain(const dims& d) { return md(d, dnnl::memory::data_type::f32, plain_strides(d)); }
md plain(const Shape& s, std::size_t rank) { return plain(dims_of(s, rank)); }

dnnl::primitive_attr activation_post_op(const Attrs& attrs) {
  const std::string& act = attrs.get_string("activation");
  dnnl::primitive_attr attr;
  if (act == "none") return attr;
  dnnl::post_ops ops;
  ops.append_eltwise(1.f,
                     act == "relu"   ? dnnl::algorithm::eltwise_relu
                     : act == "tanh" ? dnnl::algorithm::eltwise_tanh
                                     : dnnl::algorithm::eltwise_logistic,
                     0.f, 0.f);
  attr.set_post_ops(ops);
  return attr;
}

bool all_f32(const PrepareContext& ctx) {
  for (const auto& t : ctx.inputs) {
    if (t.dtype != DType::f32) return false;
  }
  for (const auto& t : ctx.outputs) {
    if (t.dtype != DType::f32) return false;
  }
  return true;
}

namespace {

// Round to nearest even, NaN kept a (quiet) NaN: vcvtneps2bf16's results.
std::uint16_t bf16_of(float x) {
  std::uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40u);
  return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// One thread's part (a function of its own: the OpenMP region around it would not inherit the
// target attribute).
__attribute__((target("avx512f,avx512bw,avx512bf16"))) void round_to_bf16_avx512(const float* x, std::uint16_t* y,
                                                                                  std::int64_t n) {
  const std::int64_t whole = n / 32 * 32;
  for (std::int64_t i = 0; i < whole; i += 32) {
    const __m512bh r = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(y + i, (__m512i)r);
  }
  for (std::int64_t i = whole; i < n; ++i) y[i] = bf16_of(x[i]);
}

}  // namespace

void round_to_bf16(const float* x, std::uint16_t* y, std::int64_t n) {
  if (!native_bf16()) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = bf16_of(x[i]);
    return;
  }
  // chunks of 16K floats (a multiple of 32: only the last one has a scalar tail)
  in_chunks(n, std::int64_t{1} << 14, [&](std::int64_t b, std::int64_t m) { round_to_bf16_avx512(x + b, y + b, m); });
}

bool bf16_operands(const PrepareContext& c) { return c.precision == Precision::bf16 && native_bf16(); }

md with_type(const md& d, dnnl::memory::data_type t) {
  if (d.data.format_kind == dnnl_format_kind_any) return md(d.dims(), t, dnnl::memory::format_tag::any);
  if (d.data.format_kind != dnnl_blocked || d.data.extra.flags != 0) {
    throw Error("onednn: with_type takes plain, strided, blocked or format_tag::any descriptors");
  }
  dnnl_memory_desc_t r = d.data;  // dims, padding, strides and blocks kept
  r.data_type = static_cast<dnnl_data_type_t>(t);
  return md(r);
}

dnnl::memory::data_type stored_type(const PrepareContext& c, std::size_t k, dnnl::memory::data_type computed) {
  using dt = dnnl::memory::data_type;
  return computed == dt::bf16 && c.may_use_layout(k) ? dt::bf16 : dt::f32;
}

// oneDNN's tag notation of a blocked descriptor: dims as letters from the outermost stride in,
// upper case where blocked, then the inner blocks ("aBcd16b" is nChw16c); ":bf16" when the
// elements are bf16 (a bf16 plan's activations: stored_type).
std::string layout_name(const md& desc) {
  const auto& d = desc.data;
  if (d.format_kind != dnnl_blocked) return "opaque";
  const auto& b = d.format_desc.blocking;
  std::vector<int> order(static_cast<std::size_t>(d.ndims));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return b.strides[x] > b.strides[y]; });
  std::string name;
  for (int i : order) {
    const bool blocked = std::find(b.inner_idxs, b.inner_idxs + b.inner_nblks, i) != b.inner_idxs + b.inner_nblks;
    name += static_cast<char>((blocked ? 'A' : 'a') + i);
  }
  for (int k = 0; k < b.inner_nblks; ++k) name += fmt::format("{}{}", b.inner_blks[k], static_cast<char>('a' + b.inner_idxs[k]));
  if (desc.data_type() == dnnl::memory::data_type::bf16) name += ":bf16";
  return name;
}

LayoutPtr make_layout(const md& desc) {
  auto l = std::make_shared<Layout>();
  l->desc = std::make_shared<const md>(desc);
  l->bytes = desc.get_size();
  l->name = layout_name(desc);
  return l;
}

md stored_md(const PrepareContext& c, std::size_t i, const md& plain_md) {
  const LayoutPtr& l = c.input_layout(i);
  return l ? *static_cast<const md*>(l->desc.get()) : plain_md;
}

md any(const md& d) { return md(d.dims(), d.data_type(), dnnl::memory::format_tag::any); }

namespace {

// The key under which the copy of an input reordered into `a.chosen` is shared in the plan, or ""
// outside a plan.
std::string reordered_key(const PrepareContext& c, std::size_t i, const md& chosen) {
  if (c.shared == nullptr || i >= c.input_ids.size()) return {};
  return fmt::format("reordered/{}/{}/{}/{}", c.input_ids[i], layout_name(chosen), static_cast<int>(chosen.data_type()),
                     fmt::join(chosen.dims(), "x"));
}

// `to` is `from` (f32) with bf16 elements in the same places: same dims, padding, strides and
// blocks, so the conversion is elementwise over the whole buffer.
bool only_rounded(const md& from, const md& to) {
  const auto &f = from.data, &t = to.data;
  if (from.data_type() != dnnl::memory::data_type::f32 || to.data_type() != dnnl::memory::data_type::bf16 ||
      f.format_kind != dnnl_blocked || t.format_kind != dnnl_blocked || f.ndims != t.ndims || f.offset0 != 0 ||
      t.offset0 != 0 || f.extra.flags != 0 || t.extra.flags != 0) {
    return false;
  }
  const auto &fb = f.format_desc.blocking, &tb = t.format_desc.blocking;
  for (int i = 0; i < f.ndims; ++i) {
    if (f.dims[i] != t.dims[i] || f.padded_dims[i] != t.padded_dims[i] || f.padded_offsets[i] != t.padded_offsets[i] ||
        fb.strides[i] != tb.strides[i]) {
      return false;
    }
  }
  if (fb.inner_nblks != tb.inner_nblks) return false;
  for (int k = 0; k < fb.inner_nblks; ++k) {
    if (fb.inner_blks[k] != tb.inner_blks[k] || fb.inner_idxs[k] != tb.inner_idxs[k]) return false;
  }
  return from.get_size() == 2 * to.get_size();
}

}  // namespace

dnnl::memory input_in(PrimitiveKernel& k, const PrepareContext& c, std::size_t i, const md& stored, const md& chosen) {
  const std::string key = reordered_key(c, i, chosen);
  if (!key.empty()) {
    if (auto it = c.shared->find(key); it != c.shared->end()) return *static_cast<dnnl::memory*>(it->second.get());
  }
  auto copy = std::make_shared<dnnl::memory>(chosen, engine());  // allocated once
  if (only_rounded(stored, chosen)) {
    // element by element, padding included: the backend's own conversion, faster than oneDNN 2.6's
    // reorder (jit:uni) here (docs/performance.md, "Mixed precision")
    const auto n = static_cast<std::int64_t>(stored.get_size() / sizeof(float));
    auto* to = static_cast<std::uint16_t*>(copy->get_data_handle());
    k.add_host([i, n, to](const KernelContext& ctx) {
      round_to_bf16(static_cast<const float*>(ctx.in(i).raw()), to, n);
    });
  } else {
    k.add(dnnl::reorder(dnnl::reorder::primitive_desc(engine(), stored, engine(), chosen)),
          {{DNNL_ARG_FROM, stored, in(static_cast<int>(i))}});
    k.share(DNNL_ARG_TO, *copy);
  }
  if (!key.empty()) (*c.shared)[key] = copy;
  return *copy;
}

dnnl::memory bf16_copy(PrimitiveKernel& k, const PrepareContext& c, std::size_t i, const md& plain_md) {
  return input_in(k, c, i, plain_md, with_type(plain_md, dnnl::memory::data_type::bf16));
}

void add_with_layouts(PrimitiveKernel& k, dnnl::primitive prim, const std::vector<LayoutArg>& args,
                      const PrepareContext& c, const std::vector<std::pair<int, dnnl::memory>>& extra) {
  std::vector<std::tuple<int, md, Source>> direct;
  std::vector<std::pair<int, dnnl::memory>> staged;
  std::vector<std::pair<const LayoutArg*, dnnl::memory>> reorder_out;
  for (const LayoutArg& a : args) {
    const bool output = a.source.kind == Source::output;
    if (a.chosen == a.stored) {
      direct.push_back({a.arg, a.stored, a.source});
    } else if (output && c.may_use_layout(static_cast<std::size_t>(a.source.index))) {
      (*c.output_layouts)[static_cast<std::size_t>(a.source.index)] = make_layout(a.chosen);
      direct.push_back({a.arg, a.chosen, a.source});
    } else if (output) {
      dnnl::memory mem(a.chosen, engine());  // allocated once
      staged.push_back({a.arg, mem});
      reorder_out.push_back({&a, mem});
    } else {
      staged.push_back({a.arg, input_in(k, c, static_cast<std::size_t>(a.source.index), a.stored, a.chosen)});
    }
  }
  k.add(std::move(prim), direct);
  for (auto& [arg, mem] : staged) k.share(arg, mem);
  for (const auto& [arg, mem] : extra) k.share(arg, mem);
  for (auto& [a, mem] : reorder_out) {
    k.add(dnnl::reorder(dnnl::reorder::primitive_desc(engine(), a->chosen, engine(), a->stored)),
          {{DNNL_ARG_TO, a->stored, a->source}});
    k.share(DNNL_ARG_FROM, mem);
  }
}

namespace {

// Reorders the inputs stored in backend layouts into plain tensors, then runs the inner kernel.
class PlainInputs final : public PreparedKernel {
 public:
  struct Staged {
    std::size_t input;
    dnnl::reorder reorder;
    dnnl::memory from, to;
    Tensor plain;
  };
  PlainInputs(std::unique_ptr<PreparedKernel> inner, std::vector<Staged> staged)
      : inner_(std::move(inner)), staged_(std::move(staged)) {}

  void run(const KernelContext& ctx) override {
    inputs_.assign(ctx.inputs.begin(), ctx.inputs.end());
    for (auto& s : staged_) {
      s.from.set_data_handle(const_cast<void*>(ctx.in(s.input).raw()));
      s.reorder.execute(stream(), s.from, s.to);
      inputs_[s.input] = s.plain;
    }
    stream().wait();
    inner_->run(KernelContext{ctx.node, inputs_, ctx.outputs, ctx.communicator});
  }

 private:
  std::unique_ptr<PreparedKernel> inner_;
  std::vector<Staged> staged_;
  std::vector<Tensor> inputs_;
};

}  // namespace

KernelFactory with_plain_inputs(KernelFactory inner) {
  return [inner = std::move(inner)](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
    std::vector<PlainInputs::Staged> staged;
    for (std::size_t i = 0; i < c.inputs.size(); ++i) {
      const LayoutPtr& l = c.input_layout(i);
      if (!l) continue;
      const md& from = *static_cast<const md*>(l->desc.get());
      Tensor plain_tensor(c.inputs[i].dtype, c.inputs[i].shape);
      const md to = plain(c.inputs[i].shape);
      staged.push_back({i, dnnl::reorder(dnnl::reorder::primitive_desc(engine(), from, engine(), to)),
                        dnnl::memory(from, engine(), DNNL_MEMORY_NONE),
                        dnnl::memory(to, engine(), plain_tensor.raw()), plain_tensor});
    }
    PrepareContext plain_ctx{c.node, c.inputs, c.outputs, c.input_ids, c.shared};
    auto k = inner(plain_ctx);
    if (!k || staged.empty()) return k;
    return std::make_unique<PlainInputs>(std::move(k), std::move(staged));
  };
}

void PrimitiveKernel::add(dnnl::primitive p, const std::vector<std::tuple<int, md, Source>>& args) {
  Item item{std::move(p), {}, {}, {}};
  for (const auto& [arg, desc, source] : args) {
    if (source.kind == Source::scratch) {
      item.args.push_back({arg, source, dnnl::memory(desc, engine())});  // allocated once
    } else {
      item.args.push_back({arg, source, dnnl::memory(desc, engine(), DNNL_MEMORY_NONE)});
    }
    item.exec[arg] = item.args.back().mem;
  }
  items_.push_back(std::move(item));
}

void PrimitiveKernel::share(int arg, dnnl::memory mem) { items_.back().exec[arg] = std::move(mem); }

void PrimitiveKernel::add_host(std::function<void(const KernelContext&)> fn) {
  items_.push_back(Item{dnnl::primitive(), {}, {}, std::move(fn)});
}

void PrimitiveKernel::run(const KernelContext& ctx) {
  for (auto& item : items_) {
    if (item.host) {
      item.host(ctx);
      continue;
    }
    for (auto& b : item.args) {
      if (b.source.kind == Source::input) {
        b.mem.set_data_handle(const_cast<void*>(ctx.in(static_cast<std::size_t>(b.source.index)).raw()));
      } else if (b.source.kind == Source::output) {
        b.mem.set_data_handle(ctx.out(static_cast<std::size_t>(b.source.index)).raw());
      }
    }
    item.prim.execute(stream(), item.exec);
  }
  stream().wait();
}

}  // namespace onednn
}  // namespace symgrad
