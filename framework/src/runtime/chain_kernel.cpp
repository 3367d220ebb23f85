// The chain kernel: runs a fused elementwise chain (or one small elementwise op) as a small
// program over blocks of 256 elements, one pass over memory, threaded with OpenMP for large
// tensors; its loops are built for AVX2 and for the baseline, chosen when the library loads.

#include <algorithm>
#include <cmath>
#include <map>
#include <string_view>

#include <fmt/format.h>
#include <immintrin.h>
#include <omp.h>

#include "chain_jit.hpp"
#include "chain_program.hpp"
#include "fusion.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/runtime/elementwise.hpp"

namespace symgrad::fusion {
namespace {

const std::map<std::string_view, Ew>& table() {
  static const std::map<std::string_view, Ew> t = {
      {"neg", Ew::neg}, {"exp", Ew::exp}, {"log", Ew::log}, {"sin", Ew::sin}, {"cos", Ew::cos}, {"sqrt", Ew::sqrt},
      {"square", Ew::square}, {"abs", Ew::abs}, {"sign", Ew::sign}, {"pow", Ew::pow},
      {"relu", Ew::relu}, {"leaky_relu", Ew::leaky_relu}, {"sigmoid", Ew::sigmoid},
      {"tanh", Ew::tanh}, {"softplus", Ew::softplus}, {"add", Ew::add}, {"sub", Ew::sub},
      {"mul", Ew::mul}, {"div", Ew::div}, {"equal", Ew::eq}, {"not_equal", Ew::ne},
      {"less", Ew::lt}, {"less_equal", Ew::le}, {"greater", Ew::gt}, {"greater_equal", Ew::ge},
      {"where", Ew::where}, {"dropout", Ew::dropout}, {"relu_backward", Ew::relu_bwd},
      {"tanh_backward", Ew::tanh_bwd}, {"sigmoid_backward", Ew::sigmoid_bwd}};
  return t;
}

}  // namespace

bool chain_supports(const std::string& op) { return table().count(op) > 0; }

namespace {

// How many arguments an instruction takes.
int arity(Ew op) {
  switch (op) {
    case Ew::add: case Ew::sub: case Ew::mul: case Ew::div: case Ew::eq: case Ew::ne: case Ew::lt: case Ew::le:
    case Ew::gt: case Ew::ge: case Ew::relu_bwd: case Ew::tanh_bwd: case Ew::sigmoid_bwd: case Ew::dropout:
      return 2;
    case Ew::where: case Ew::muladd: case Ew::submul: return 3;
    case Ew::constant: return 0;
    default: return 1;
  }
}

}  // namespace

bool runs_formula(const OpDef& op) { return !op.formula.empty() && formula_error(op).empty(); }

}  // namespace symgrad::fusion

namespace symgrad {

std::string formula_error(const OpDef& op) {
  using fusion::Ew;
  if (op.formula.empty()) return "";
  if (op.arity < 1) return fmt::format("op '{}': an op with a formula takes a fixed number of inputs", op.name);
  for (std::size_t i = 0; i < op.formula.size(); ++i) {
    const FormulaStep& s = op.formula[i];
    if (s.op == "constant") {
      if (!s.args.empty()) {
        return fmt::format("op '{}': formula step {} ('constant') has {} arguments, it takes none (its value is p)",
                           op.name, i, s.args.size());
      }
      if (!std::isfinite(s.p)) return fmt::format("op '{}': formula step {} is the constant {}", op.name, i, s.p);
      continue;
    }
    const auto it = fusion::table().find(s.op);
    if (it == fusion::table().end() || it->second == Ew::dropout || it->second == Ew::relu_bwd ||
        it->second == Ew::tanh_bwd || it->second == Ew::sigmoid_bwd) {
      return fmt::format("op '{}': formula step {} uses '{}', which is not an elementwise op the chain compiler takes",
                         op.name, i, s.op);
    }
    if (static_cast<int>(s.args.size()) != fusion::arity(it->second)) {
      return fmt::format("op '{}': formula step {} ('{}') has {} arguments, it takes {}", op.name, i, s.op, s.args.size(),
                         fusion::arity(it->second));
    }
    for (int a : s.args) {
      if (a == 0 ? false : (a < 0 ? -a > op.arity : a >= static_cast<int>(i))) {
        return fmt::format("op '{}': formula step {} ('{}') reads {}: an input is -1 to -{}, a step 0 to {}", op.name, i,
                           s.op, a, op.arity, static_cast<int>(i) - 1);
      }
      if (a == 0 && i == 0) {
        return fmt::format("op '{}': formula step 0 ('{}') reads step 0, itself (inputs are -1 to -{})", op.name, s.op,
                           op.arity);
      }
    }
  }
  return "";
}

}  // namespace symgrad

namespace symgrad::fusion {

namespace {

constexpr std::int64_t kBlock = 256;

template <class T>
inline T sigmoid(T x) {
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

// One instruction over a block: n = N (a full block, so the loops have a known trip count) or len
// (the tensor's last, partial block). The destination is a scratch register, never an input.
template <class T, std::int64_t N>
[[gnu::always_inline]] inline void apply(const Instr& in, T* __restrict d, const T* a, const T* b, const T* c,
                                         std::int64_t len) {
  const std::int64_t n = N > 0 ? N : len;
  const T p = static_cast<T>(in.p);
  switch (in.op) {
    case Ew::neg: for (std::int64_t j = 0; j < n; ++j) d[j] = -a[j]; break;
    case Ew::exp: for (std::int64_t j = 0; j < n; ++j) d[j] = std::exp(a[j]); break;
    case Ew::sin: for (std::int64_t j = 0; j < n; ++j) d[j] = std::sin(a[j]); break;
    case Ew::cos: for (std::int64_t j = 0; j < n; ++j) d[j] = std::cos(a[j]); break;
    case Ew::log: for (std::int64_t j = 0; j < n; ++j) d[j] = std::log(a[j]); break;
    case Ew::sqrt: for (std::int64_t j = 0; j < n; ++j) d[j] = std::sqrt(a[j]); break;
    case Ew::square: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] * a[j]; break;
    case Ew::abs: for (std::int64_t j = 0; j < n; ++j) d[j] = std::abs(a[j]); break;
    case Ew::sign: for (std::int64_t j = 0; j < n; ++j) d[j] = static_cast<T>((a[j] > T(0)) - (a[j] < T(0))); break;
    case Ew::pow: for (std::int64_t j = 0; j < n; ++j) d[j] = std::pow(a[j], p); break;
    case Ew::relu: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] > T(0) ? a[j] : T(0); break;
    case Ew::leaky_relu: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] > T(0) ? a[j] : p * a[j]; break;
    case Ew::sigmoid: for (std::int64_t j = 0; j < n; ++j) d[j] = sigmoid(a[j]); break;
    case Ew::tanh: for (std::int64_t j = 0; j < n; ++j) d[j] = std::tanh(a[j]); break;
    case Ew::softplus:
      for (std::int64_t j = 0; j < n; ++j) d[j] = std::max(a[j], T(0)) + std::log1p(std::exp(-std::abs(a[j])));
      break;
    case Ew::add: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] + b[j]; break;
    case Ew::sub: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] - b[j]; break;
    case Ew::mul: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] * b[j]; break;
    case Ew::div: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] / b[j]; break;
    case Ew::eq: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] == b[j] ? T(1) : T(0); break;
    case Ew::ne: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] != b[j] ? T(1) : T(0); break;
    case Ew::lt: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] < b[j] ? T(1) : T(0); break;
    case Ew::le: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] <= b[j] ? T(1) : T(0); break;
    case Ew::gt: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] > b[j] ? T(1) : T(0); break;
    case Ew::ge: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] >= b[j] ? T(1) : T(0); break;
    case Ew::where: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] != T(0) ? b[j] : c[j]; break;
    case Ew::dropout: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] * b[j] * p; break;
    case Ew::relu_bwd: for (std::int64_t j = 0; j < n; ++j) d[j] = b[j] > T(0) ? a[j] : T(0); break;
    case Ew::tanh_bwd: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] * (T(1) - b[j] * b[j]); break;
    case Ew::sigmoid_bwd: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] * (b[j] * (T(1) - b[j])); break;
    // the product is rounded before the sum, as the two ops it replaces (this file is compiled
    // with -ffp-contract=off: no fma)
    case Ew::muladd: for (std::int64_t j = 0; j < n; ++j) d[j] = a[j] * b[j] + c[j]; break;
    case Ew::submul: for (std::int64_t j = 0; j < n; ++j) d[j] = c[j] - a[j] * b[j]; break;
    case Ew::constant: for (std::int64_t j = 0; j < n; ++j) d[j] = p; break;
  }
}

// Runs a chain's instructions over one block: register r's block is reg[r]; results go to
// scratch + dst * kBlock. Compiled for AVX-512, AVX2 and the baseline, chosen when the library loads.
template <class T>
[[gnu::always_inline]] inline void run_block(const Instr* program, std::size_t count, T* scratch, const T** reg,
                                             std::int64_t len) {
  for (std::size_t i = 0; i < count; ++i) {
    const Instr& in = program[i];
    T* d = scratch + static_cast<std::size_t>(in.dst) * kBlock;
    const T* a = in.a >= 0 ? reg[in.a] : nullptr;  // (none: a constant)
    const T* b = in.b >= 0 ? reg[in.b] : nullptr;
    const T* c = in.c >= 0 ? reg[in.c] : nullptr;
    if (len == kBlock) {
      apply<T, kBlock>(in, d, a, b, c, len);
    } else {
      apply<T, 0>(in, d, a, b, c, len);
    }
    reg[in.dst] = d;
  }
}

[[gnu::target_clones("avx512f", "avx2", "default")]] void run_block_f32(const Instr* program, std::size_t count,
                                                             float* scratch, const float** reg, std::int64_t len) {
  run_block<float>(program, count, scratch, reg, len);
}

[[gnu::target_clones("avx512f", "avx2", "default")]] void run_block_f64(const Instr* program, std::size_t count,
                                                             double* scratch, const double** reg, std::int64_t len) {
  run_block<double>(program, count, scratch, reg, len);
}

void run_block_typed(const Instr* p, std::size_t n, float* s, const float** r, std::int64_t len) {
  run_block_f32(p, n, s, r, len);
}
void run_block_typed(const Instr* p, std::size_t n, double* s, const double** r, std::int64_t len) {
  run_block_f64(p, n, s, r, len);
}

// Stores a block's output: streaming (non-temporal) stores for outputs too large for the caches,
// which skip reading the destination before writing it.
inline void store_block(const float* v, float* dst, std::int64_t len, bool stream) {
  if (stream && reinterpret_cast<std::uintptr_t>(dst) % 16 == 0 && len % 4 == 0) {
    for (std::int64_t j = 0; j < len; j += 4) _mm_stream_ps(dst + j, _mm_loadu_ps(v + j));
  } else {
    std::copy(v, v + len, dst);
  }
}
inline void store_block(const double* v, double* dst, std::int64_t len, bool stream) {
  if (stream && reinterpret_cast<std::uintptr_t>(dst) % 16 == 0 && len % 2 == 0) {
    for (std::int64_t j = 0; j < len; j += 2) _mm_stream_pd(dst + j, _mm_loadu_pd(v + j));
  } else {
    std::copy(v, v + len, dst);
  }
}

// Chains over fewer elements run on the calling thread.
constexpr std::int64_t kParallelElements = std::int64_t{1} << 15;

// Outputs larger than this many bytes that no input shares are stored with streaming stores.
constexpr std::int64_t kStreamBytes = std::int64_t{8} << 20;

class ChainKernel final : public PreparedKernel {
 public:
  ChainKernel(std::vector<Instr> program, int registers, std::vector<Mode> modes,
              std::vector<std::int64_t> periods, std::vector<int> output_regs, std::int64_t n, DType dtype,
              bool compile_code)
      : program_(std::move(program)), registers_(registers), modes_(std::move(modes)),
        periods_(std::move(periods)), output_regs_(std::move(output_regs)), n_(n), dtype_(dtype) {
    const auto threads = static_cast<std::size_t>(std::max(1, omp_get_max_threads()));
    scratch_.resize(threads * static_cast<std::size_t>(registers_) * kBlock * dtype_size(dtype));
    reg_ptrs_.resize(threads * static_cast<std::size_t>(registers_));
    stream_.resize(output_regs_.size());
    jit_inputs_.resize(modes_.size());
    jit_outputs_.resize(output_regs_.size());
    if (!compile_code) {
      code_ = "interpreted: machine code is off";
    } else if (dtype_ != DType::f32) {
      code_ = "interpreted: f64";
    } else if (n_ < std::max<std::int64_t>(1, ChainJit::lanes(ChainJit::isa()))) {
      code_ = "interpreted: fewer elements than a vector";
    } else {
      std::string why;
      jit_ = ChainJit::compile(program_, modes_, output_regs_, registers_, &why);
      code_ = jit_ ? ChainJit::name(jit_->code_isa()) : "interpreted: " + why;
    }
  }

  const std::string& code() const { return code_; }

  void run(const KernelContext& ctx) override {
    if (jit_) {
      run_compiled(ctx);
    } else if (dtype_ == DType::f32) {
      run_typed<float>(ctx);
    } else {
      run_typed<double>(ctx);
    }
  }

 private:
  // The compiled code over whole vectors, split evenly between the threads; the interpreter
  // runs the last elements (fewer than a vector).
  void run_compiled(const KernelContext& ctx) {
    std::vector<const float*>& in = jit_inputs_;
    std::vector<float*>& out = jit_outputs_;
    for (std::size_t i = 0; i < in.size(); ++i) in[i] = ctx.in(i).data<float>();
    for (std::size_t o = 0; o < out.size(); ++o) out[o] = ctx.out(o).data<float>();
    const std::int64_t lanes = jit_->lanes(), vectors = n_ / lanes;
    if (n_ < kParallelElements) {
      jit_->run(in.data(), out.data(), 0, vectors * lanes);
    } else {
#pragma omp parallel
      {
        const std::int64_t threads = omp_get_num_threads(), t = omp_get_thread_num();
        const std::int64_t begin = vectors * t / threads, end = vectors * (t + 1) / threads;
        if (begin < end) jit_->run(in.data(), out.data(), begin * lanes, end * lanes);
      }
    }
    if (vectors * lanes < n_) run_typed<float>(ctx, vectors * lanes);
  }

  // The interpreter over elements [first, n) (first: where the compiled code stopped).
  template <class T>
  void run_typed(const KernelContext& ctx, std::int64_t first = 0) {
    const std::int64_t blocks = (n_ - first + kBlock - 1) / kBlock;
    const auto regs = static_cast<std::size_t>(registers_);
    const auto inputs = modes_.size();
    // An output is streamed (written without reading it first) when it is too large for the
    // caches and is not also an input: a variable updated in place is in the cache already.
    std::vector<char>& stream = stream_;
    bool any_stream = false;
    for (std::size_t o = 0; o < output_regs_.size(); ++o) {
      const void* out = ctx.out(o).raw();
      bool shared = false;
      for (std::size_t i = 0; i < inputs; ++i) shared = shared || ctx.in(i).raw() == out;
      stream[o] = !shared && n_ * static_cast<std::int64_t>(sizeof(T)) > kStreamBytes;
      any_stream = any_stream || stream[o] != 0;
    }
    // A thread's scratch and register table, with scalars filled once per run.
    auto setup = [&](std::size_t thread) {
      T* mine = reinterpret_cast<T*>(scratch_.data()) + thread * regs * kBlock;
      const T** reg = reinterpret_cast<const T**>(reg_ptrs_.data()) + thread * regs;
      for (std::size_t i = 0; i < inputs; ++i) {
        if (modes_[i] == Mode::scalar) {
          std::fill(mine + i * kBlock, mine + i * kBlock + kBlock, ctx.in(i).template data<T>()[0]);
          reg[i] = mine + i * kBlock;
        }
      }
      return std::pair{mine, reg};
    };
    auto block = [&](T* mine, const T** reg, std::int64_t blk) {
      const std::int64_t start = first + blk * kBlock, len = std::min(kBlock, n_ - start);
      for (std::size_t i = 0; i < inputs; ++i) {
        const T* src = ctx.in(i).template data<T>();
        if (modes_[i] == Mode::full) {
          reg[i] = src + start;
        } else if (modes_[i] == Mode::row) {
          T* buf = mine + i * kBlock;
          const std::int64_t period = periods_[i];
          std::int64_t r = start % period;
          for (std::int64_t j = 0; j < len; ++j) {
            buf[j] = src[r];
            if (++r == period) r = 0;
          }
          reg[i] = buf;
        }
      }
      run_block_typed(program_.data(), program_.size(), mine, reg, len);
      // Outputs are written after the whole block is computed, so an output may share memory
      // with an input (a state variable updated in place): every read comes first.
      for (std::size_t o = 0; o < output_regs_.size(); ++o) {
        store_block(reg[static_cast<std::size_t>(output_regs_[o])], ctx.out(o).template data<T>() + start, len,
                    stream[o] != 0);
      }
    };
    if (n_ - first < kParallelElements) {  // starting threads (even one) costs more than this work
      const auto own = setup(0);
      for (std::int64_t blk = 0; blk < blocks; ++blk) block(own.first, own.second, blk);
      if (any_stream) _mm_sfence();
      return;
    }
#pragma omp parallel
    {
      // (no structured binding: clang 14 cannot capture one into the OpenMP region)
      const auto own = setup(static_cast<std::size_t>(omp_get_thread_num()));
#pragma omp for schedule(static)
      for (std::int64_t blk = 0; blk < blocks; ++blk) block(own.first, own.second, blk);
      if (any_stream) _mm_sfence();
    }
  }

  std::vector<Instr> program_;
  int registers_;
  std::vector<Mode> modes_;
  std::vector<std::int64_t> periods_;
  std::vector<int> output_regs_;
  std::int64_t n_;
  DType dtype_;
  std::vector<std::byte> scratch_;        // per thread: one block per register
  std::vector<const void*> reg_ptrs_;     // per thread: where each register's block is
  std::vector<char> stream_;              // per output, this run: streamed past the caches
  std::vector<const float*> jit_inputs_;  // per input / output, this run: the compiled code's pointers
  std::vector<float*> jit_outputs_;
  std::unique_ptr<ChainJit> jit_;         // the chain as machine code, when the compiler took it
  std::string code_;                      // "avx512" or "avx2", or why the chain is interpreted
};

}  // namespace

bool is_chain_kernel(const PreparedKernel* k) { return dynamic_cast<const ChainKernel*>(k) != nullptr; }

std::string chain_kernel_code(const PreparedKernel* k) {
  const auto* chain = dynamic_cast<const ChainKernel*>(k);
  return chain != nullptr ? chain->code() : std::string();
}

namespace {

// An add (a sub) whose operand is a product used by nothing else becomes one muladd (submul)
// instruction: one pass over the block instead of two. Registers are single-assignment.
std::vector<Instr> merge_products(std::vector<Instr> program, const std::vector<int>& outputs, int registers) {
  std::vector<int> uses(static_cast<std::size_t>(registers), 0), producer(static_cast<std::size_t>(registers), -1);
  for (int r : outputs) ++uses[static_cast<std::size_t>(r)];
  for (std::size_t i = 0; i < program.size(); ++i) {
    producer[static_cast<std::size_t>(program[i].dst)] = static_cast<int>(i);
    for (int r : {program[i].a, program[i].b, program[i].c}) {
      if (r >= 0) ++uses[static_cast<std::size_t>(r)];
    }
  }
  std::vector<bool> dropped(program.size(), false);
  auto single_product = [&](int r) {
    if (r < 0 || uses[static_cast<std::size_t>(r)] != 1) return -1;
    const int j = producer[static_cast<std::size_t>(r)];
    return j >= 0 && program[static_cast<std::size_t>(j)].op == Ew::mul && !dropped[static_cast<std::size_t>(j)] ? j : -1;
  };
  for (auto& in : program) {
    if (in.op != Ew::add && in.op != Ew::sub) continue;
    int j = single_product(in.b);
    int other = in.a;
    if (j < 0 && in.op == Ew::add) j = single_product(in.a), other = in.b;
    if (j < 0) continue;
    const Instr& m = program[static_cast<std::size_t>(j)];
    in = Instr{in.op == Ew::add ? Ew::muladd : Ew::submul, in.dst, m.a, m.b, other, 0.0};
    dropped[static_cast<std::size_t>(j)] = true;
  }
  std::vector<Instr> kept;
  for (std::size_t i = 0; i < program.size(); ++i) {
    if (!dropped[i]) kept.push_back(program[i]);
  }
  return kept;
}

}  // namespace

std::unique_ptr<PreparedKernel> make_chain_kernel(const std::vector<const Node*>& members,
                                                  const std::map<std::int32_t, std::vector<Key>>& inputs_of,
                                                  const std::vector<Key>& inputs,
                                                  const std::vector<Key>& outputs,
                                                  const std::map<Key, TensorType>& types, bool compile_code) {
  const TensorType& out = types.at({members.front()->id, 0});
  const std::int64_t n = out.shape.numel();
  auto fail = [&](const std::string& why) {
    throw ShapeError(fmt::format("fused elementwise chain from node {}: {}", members.front()->label(), why));
  };
  std::map<Key, int> reg;
  std::vector<Mode> modes;
  std::vector<std::int64_t> periods;
  for (const Key& k : inputs) {
    const TensorType& t = types.at(k);
    const std::int64_t m = t.shape.numel();
    reg[k] = static_cast<int>(modes.size());
    if (m == n && t.shape == out.shape) {
      modes.push_back(Mode::full);
    } else if (m == 1) {
      modes.push_back(Mode::scalar);
    } else if (m > 0 && n % m == 0) {
      modes.push_back(Mode::row);
    } else {
      fail(fmt::format("input {} does not broadcast to {}", t.to_string(), out.to_string()));
    }
    periods.push_back(m);
  }
  std::vector<Instr> program;
  int next = static_cast<int>(reg.size());  // the next free register
  for (const Node* node : members) {
    if (types.at({node->id, 0}) != out) {
      fail(fmt::format("node {} has shape {}, the chain {}", node->label(), types.at({node->id, 0}).to_string(),
                       out.to_string()));
    }
    const auto& args = inputs_of.at(node->id);
    if (!table().count(node->op->name)) {  // an op declared by a formula: its steps, inlined
      std::vector<int> steps;
      for (const FormulaStep& s : node->op->formula) {
        Instr in{s.op == "constant" ? Ew::constant : table().at(s.op), next++};
        int* slot[3] = {&in.a, &in.b, &in.c};
        for (std::size_t k = 0; k < s.args.size(); ++k) {
          const int a = s.args[k];
          *slot[k] = a < 0 ? reg.at(args.at(static_cast<std::size_t>(-a - 1))) : steps.at(static_cast<std::size_t>(a));
        }
        in.p = s.p;
        steps.push_back(in.dst);
        program.push_back(in);
      }
      reg[{node->id, 0}] = steps.back();
      continue;
    }
    Instr in{table().at(node->op->name), next++};
    in.a = reg.at(args.at(0));
    if (args.size() > 1) in.b = reg.at(args[1]);
    if (args.size() > 2) in.c = reg.at(args[2]);
    if (in.op == Ew::pow) in.p = node->attrs.get_float("p");
    if (in.op == Ew::leaky_relu) in.p = node->attrs.get_float("alpha");
    if (in.op == Ew::dropout) in.p = 1.0 / (1.0 - node->attrs.get_float("p"));
    reg[{node->id, 0}] = in.dst;
    program.push_back(in);
  }
  std::vector<int> output_regs;
  for (const Key& k : outputs) output_regs.push_back(reg.at(k));
  program = merge_products(std::move(program), output_regs, next);
  return std::make_unique<ChainKernel>(std::move(program), next, std::move(modes),
                                       std::move(periods), std::move(output_regs), n, out.dtype,
                                       compile_code);
}

}  // namespace symgrad::fusion
