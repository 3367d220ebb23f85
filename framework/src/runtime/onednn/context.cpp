#include "context.hpp"


#include "symgrad/core/error.hpp"
#include "symgrad/runtime/threads.hpp"

namespace symgrad {

void register_onednn_kernels(OpRegistry& r) {
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
  static dnnl::stream s(engine());
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
