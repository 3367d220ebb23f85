// The chain compiler (see chain_jit.hpp). Generated code, for elements [begin, end):
//
//   broadcast each scalar input and each constant into a register of its own
//   loop: load every full input's vector; run the instructions register to register;
//         store every output's vector; advance 64 bytes
//
// Registers: zmm31 is a temporary of multi-instruction ops; values take the other zmm registers,
// freed after their last use (an output lives to the end of the iteration). Arithmetic rounds as
// the reference backend's loops do: one IEEE operation per op, a muladd's product rounded before
// its sum (no fma), so add, sub, mul, div, sqrt and friends give the reference's bits.

#include "chain_jit.hpp"

#include <bit>
#include <map>
#include <stdexcept>

#include <fmt/format.h>
#include <xbyak/xbyak.h>
#include <xbyak/xbyak_util.h>

namespace symgrad::fusion {

struct ChainJit::Code {
  Xbyak::CodeGenerator gen;
  std::vector<float> constants;
  using Fn = void (*)(const float* const* in, float* const* out, const float* constants, std::int64_t begin_bytes,
                      std::int64_t end_bytes);
  Fn fn = nullptr;
  explicit Code(std::size_t bytes) : gen(bytes, Xbyak::DontSetProtectRWE) {}
};

namespace {

// Comparison predicates of vcmpps, as the reference's C++ comparisons (a != b holds when either
// is NaN; the others do not).
constexpr std::uint8_t kEq = 0x00, kLt = 0x01, kLe = 0x02, kNeqUnordered = 0x04, kGe = 0x0D, kGt = 0x0E;

class Compiler {
 public:
  Compiler(Xbyak::CodeGenerator& g, std::vector<float>& constants) : g_(g), constants_(constants) {}

  // Throws std::runtime_error saying why the chain is not compiled.
  void compile(const std::vector<Instr>& program, const std::vector<Mode>& inputs, const std::vector<int>& outputs,
               int registers) {
    using namespace Xbyak::util;
    for (Mode m : inputs) {
      if (m == Mode::row) throw std::runtime_error("an input repeats a row (a bias)");
    }
    // Last use of each value: an output's is the end of the iteration.
    const int end = static_cast<int>(program.size());
    last_use_.assign(static_cast<std::size_t>(registers), -1);
    for (int i = 0; i < end; ++i) {
      const Instr& in = program[static_cast<std::size_t>(i)];
      for (int r : {in.a, in.b, in.c}) {
        if (r >= 0) last_use_[static_cast<std::size_t>(r)] = i;
      }
    }
    for (int r : outputs) last_use_[static_cast<std::size_t>(r)] = end;
    // A scalar input is broadcast once, before the loop: its register is never freed.
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i] == Mode::scalar && last_use_[i] >= 0) last_use_[i] = end + 1;
    }
    zmm_of_.assign(static_cast<std::size_t>(registers), -1);
    for (int z = 30; z >= 0; --z) free_.push_back(z);

    // Pointers: full inputs and outputs each in a general register for the whole loop.
    const Xbyak::Reg64 pool[] = {rax, rbx, rbp, r9, r10, r11, r12, r13, r14, r15};
    std::vector<int> full;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i] == Mode::full && last_use_[i] >= 0) full.push_back(static_cast<int>(i));
    }
    if (full.size() + outputs.size() > std::size(pool)) {
      throw std::runtime_error(fmt::format("{} inputs and outputs (at most {})", full.size() + outputs.size(),
                                           std::size(pool)));
    }
    // Arguments: rdi in, rsi out, rdx constants, rcx begin (bytes), r8 end (bytes).
    const Xbyak::Reg64 saved[] = {rbx, rbp, r12, r13, r14, r15};
    for (const auto& r : saved) g_.push(r);
    std::map<int, Xbyak::Reg64> base;
    std::size_t next = 0;
    for (int i : full) {
      base.emplace(i, pool[next]);
      g_.mov(pool[next++], g_.ptr[rdi + 8 * i]);
    }
    std::vector<Xbyak::Reg64> out_base;
    for (std::size_t o = 0; o < outputs.size(); ++o) {
      out_base.push_back(pool[next]);
      g_.mov(pool[next++], g_.ptr[rsi + static_cast<int>(8 * o)]);
    }
    // Scalar inputs: broadcast once (their pointer goes through rdx, saved around it).
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i] != Mode::scalar || last_use_[i] < 0) continue;
      const int z = take(static_cast<int>(i));
      g_.push(rdx);
      g_.mov(rdx, g_.ptr[rdi + static_cast<int>(8 * i)]);
      g_.vbroadcastss(Xbyak::Zmm(z), g_.ptr[rdx]);
      g_.pop(rdx);
    }
    // Constants of the ops, broadcast from the constants array (rdx).
    for (const Instr& in : program) declare_constants(in);
    for (std::size_t k = 0; k < constants_.size(); ++k) {
      const int z = pop_free();
      constant_zmm_.push_back(z);
      g_.vbroadcastss(Xbyak::Zmm(z), g_.ptr[rdx + static_cast<int>(4 * k)]);
    }

    Xbyak::Label loop, done;
    g_.cmp(rcx, r8);
    g_.jge(done, Xbyak::CodeGenerator::T_NEAR);
    g_.L(loop);
    for (int i : full) {
      const int z = take(i);
      g_.vmovups(Xbyak::Zmm(z), g_.ptr[base.at(i) + rcx]);
    }
    for (int i = 0; i < end; ++i) emit(program[static_cast<std::size_t>(i)], i);
    for (std::size_t o = 0; o < outputs.size(); ++o) {
      g_.vmovups(g_.ptr[out_base[o] + rcx], zmm(outputs[o]));
    }
    g_.add(rcx, 64);
    g_.cmp(rcx, r8);
    g_.jl(loop, Xbyak::CodeGenerator::T_NEAR);
    g_.L(done);
    g_.vzeroupper();
    for (auto it = std::rbegin(saved); it != std::rend(saved); ++it) g_.pop(*it);
    g_.ret();
  }

 private:
  // Registers.
  int pop_free() {
    if (free_.empty()) throw std::runtime_error("the chain needs more than 31 vector registers");
    const int z = free_.back();
    free_.pop_back();
    return z;
  }
  int take(int value) {
    const int z = pop_free();
    zmm_of_[static_cast<std::size_t>(value)] = z;
    return z;
  }
  void release(int value) {
    int& z = zmm_of_[static_cast<std::size_t>(value)];
    if (z >= 0) free_.push_back(z);
    z = -1;
  }
  Xbyak::Zmm zmm(int value) const {
    const int z = zmm_of_.at(static_cast<std::size_t>(value));
    if (z < 0) throw std::logic_error(fmt::format("chain value {} has no register", value));
    return Xbyak::Zmm(z);
  }

  // Constants: each distinct bit pattern once.
  std::size_t constant(float v) {
    const auto bits = std::bit_cast<std::uint32_t>(v);
    for (std::size_t k = 0; k < constants_.size(); ++k) {
      if (std::bit_cast<std::uint32_t>(constants_[k]) == bits) return k;
    }
    constants_.push_back(v);
    return constants_.size() - 1;
  }
  Xbyak::Zmm cz(float v) { return Xbyak::Zmm(constant_zmm_.at(constant(v))); }
  static float bits(std::uint32_t b) { return std::bit_cast<float>(b); }

  void declare_constants(const Instr& in) {
    switch (in.op) {
      case Ew::neg: constant(bits(0x80000000u)); break;
      case Ew::abs: constant(bits(0x7fffffffu)); break;
      case Ew::sign: constant(0.f), constant(1.f), constant(-1.f); break;
      case Ew::relu: case Ew::relu_bwd: case Ew::where: constant(0.f); break;
      case Ew::leaky_relu: constant(0.f), constant(static_cast<float>(in.p)); break;
      case Ew::eq: case Ew::ne: case Ew::lt: case Ew::le: case Ew::gt: case Ew::ge: constant(1.f); break;
      case Ew::dropout: constant(static_cast<float>(in.p)); break;
      case Ew::tanh_bwd: case Ew::sigmoid_bwd: constant(1.f); break;
      case Ew::sqrt: case Ew::square: case Ew::add: case Ew::sub: case Ew::mul: case Ew::div:
      case Ew::muladd: case Ew::submul:
        break;
      case Ew::exp: case Ew::log: case Ew::sin: case Ew::cos: case Ew::pow: case Ew::sigmoid: case Ew::tanh:
      case Ew::softplus:
        throw std::runtime_error("a transcendental op (exp, log, sin, cos, pow, sigmoid, tanh, softplus)");
      case Ew::constant: throw std::runtime_error("a formula's constant step");
    }
  }

  void compare(const Xbyak::Zmm& d, const Xbyak::Zmm& a, const Xbyak::Zmm& b, std::uint8_t predicate) {
    g_.vcmpps(g_.k1, a, b, predicate);
    g_.vmovaps(d | g_.k1 | g_.T_z, cz(1.f));
  }

  // One instruction. Operands are read before dst is written (dst may take the register of an
  // operand used for the last time here); zmm31 holds intermediate results.
  void emit(const Instr& in, int index) {
    const Xbyak::Zmm a = zmm(in.a);
    const Xbyak::Zmm b = in.b >= 0 ? zmm(in.b) : a, c = in.c >= 0 ? zmm(in.c) : a;
    for (int r : {in.a, in.b, in.c}) {
      if (r >= 0 && last_use_[static_cast<std::size_t>(r)] == index && zmm_of_[static_cast<std::size_t>(r)] >= 0) {
        release(r);
      }
    }
    const Xbyak::Zmm d(take(in.dst));
    const Xbyak::Zmm t(31);
    auto& k1 = g_.k1;
    auto& k2 = g_.k2;
    switch (in.op) {
      case Ew::neg: g_.vpxord(d, a, cz(bits(0x80000000u))); break;
      case Ew::abs: g_.vpandd(d, a, cz(bits(0x7fffffffu))); break;
      case Ew::sqrt: g_.vsqrtps(d, a); break;
      case Ew::square: g_.vmulps(d, a, a); break;
      case Ew::add: g_.vaddps(d, a, b); break;
      case Ew::sub: g_.vsubps(d, a, b); break;
      case Ew::mul: g_.vmulps(d, a, b); break;
      case Ew::div: g_.vdivps(d, a, b); break;
      case Ew::muladd: g_.vmulps(t, a, b), g_.vaddps(d, t, c); break;
      case Ew::submul: g_.vmulps(t, a, b), g_.vsubps(d, c, t); break;
      case Ew::dropout: g_.vmulps(t, a, b), g_.vmulps(d, t, cz(static_cast<float>(in.p))); break;
      case Ew::tanh_bwd: g_.vmulps(t, b, b), g_.vsubps(t, cz(1.f), t), g_.vmulps(d, a, t); break;
      case Ew::sigmoid_bwd: g_.vsubps(t, cz(1.f), b), g_.vmulps(t, b, t), g_.vmulps(d, a, t); break;
      case Ew::relu:  // a > 0 ? a : 0 (NaN gives 0, as the reference)
        g_.vcmpps(k1, a, cz(0.f), kGt), g_.vmovaps(d | k1 | g_.T_z, a);
        break;
      case Ew::relu_bwd:  // b > 0 ? a : 0
        g_.vcmpps(k1, b, cz(0.f), kGt), g_.vmovaps(d | k1 | g_.T_z, a);
        break;
      case Ew::leaky_relu:  // a > 0 ? a : alpha a
        g_.vmulps(t, a, cz(static_cast<float>(in.p))), g_.vcmpps(k1, a, cz(0.f), kGt), g_.vblendmps(d | k1, t, a);
        break;
      case Ew::sign:  // (a > 0) - (a < 0)
        g_.vcmpps(k1, a, cz(0.f), kGt), g_.vcmpps(k2, a, cz(0.f), kLt);
        g_.vmovaps(d | k1 | g_.T_z, cz(1.f)), g_.vmovaps(d | k2, cz(-1.f));
        break;
      case Ew::where:  // a != 0 ? b : c
        g_.vcmpps(k1, a, cz(0.f), kNeqUnordered), g_.vblendmps(d | k1, c, b);
        break;
      case Ew::eq: compare(d, a, b, kEq); break;
      case Ew::ne: compare(d, a, b, kNeqUnordered); break;
      case Ew::lt: compare(d, a, b, kLt); break;
      case Ew::le: compare(d, a, b, kLe); break;
      case Ew::gt: compare(d, a, b, kGt); break;
      case Ew::ge: compare(d, a, b, kGe); break;
      default: throw std::logic_error("op without code");  // refused by declare_constants
    }
    if (last_use_[static_cast<std::size_t>(in.dst)] < 0) release(in.dst);  // read by nothing
  }

  Xbyak::CodeGenerator& g_;
  std::vector<float>& constants_;
  std::vector<int> constant_zmm_;
  std::vector<int> last_use_, zmm_of_, free_;
};

}  // namespace

ChainJit::ChainJit(std::unique_ptr<Code> code) : code_(std::move(code)) {}
ChainJit::~ChainJit() = default;

std::unique_ptr<ChainJit> ChainJit::compile(const std::vector<Instr>& program, const std::vector<Mode>& inputs,
                                            const std::vector<int>& outputs, int registers, std::string* why) {
  static const bool avx512 = Xbyak::util::Cpu().has(Xbyak::util::Cpu::tAVX512F);
  auto refuse = [&](const std::string& reason) -> std::unique_ptr<ChainJit> {
    if (why != nullptr) *why = reason;
    return nullptr;
  };
  if (!avx512) return refuse("the CPU has no AVX-512");
  try {
    auto code = std::make_unique<Code>(4096 + 64 * (program.size() + inputs.size() + outputs.size()));
    Compiler(code->gen, code->constants).compile(program, inputs, outputs, registers);
    code->gen.ready();
    code->gen.setProtectModeRE();  // written, now executable and no longer writable
    code->fn = code->gen.getCode<Code::Fn>();
    return std::unique_ptr<ChainJit>(new ChainJit(std::move(code)));
  } catch (const std::exception& e) {  // a chain the compiler does not take (or Xbyak's own error)
    return refuse(e.what());
  }
}

void ChainJit::run(const float* const* in, float* const* out, std::int64_t begin, std::int64_t end) const {
  code_->fn(in, out, code_->constants.data(), begin * 4, end * 4);
}

}  // namespace symgrad::fusion
