// The chain compiler (see chain_jit.hpp). Generated code, for elements [begin, end):
//
//   broadcast each scalar input (and, on AVX-512, each constant) into a register of its own
//   loop: load every full input's vector; run the instructions register to register;
//         store every output's vector; advance one vector (64 bytes on AVX-512, 32 on AVX2)
//
// AVX-512: zmm31 is a temporary of multi-instruction ops; values take the other 31 registers,
// freed after their last use (an output lives to the end of the iteration); comparisons and
// selects go through mask registers. AVX2: 16 ymm registers, ymm14 and ymm15 the temporaries,
// values in the other 14; constants are memory operands (each stored as a whole vector, read
// from L1) so they take no register; comparisons give all-ones lanes that are and-ed or blended.
// Arithmetic rounds as the reference backend's loops do: one IEEE operation per op, a muladd's
// product rounded before its sum (no fma), so add, sub, mul, div, sqrt and friends give the
// reference's bits on either instruction set.

#include "chain_jit.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <xbyak/xbyak.h>
#include <xbyak/xbyak_util.h>

#include "symgrad/core/error.hpp"

namespace symgrad::fusion {

struct ChainJit::Code {
  Xbyak::CodeGenerator gen;
  ChainIsa isa = ChainIsa::none;
  std::vector<float> constants;  // AVX-512: one float each; AVX2: each repeated over a vector
  using Fn = void (*)(const float* const* in, float* const* out, const float* constants, std::int64_t begin_bytes,
                      std::int64_t end_bytes);
  Fn fn = nullptr;
  explicit Code(std::size_t bytes) : gen(bytes, Xbyak::DontSetProtectRWE) {}
};

namespace {

// Comparison predicates of vcmpps, as the reference's C++ comparisons (a != b holds when either
// is NaN; the others do not). The same immediates on the VEX and EVEX forms.
constexpr std::uint8_t kEq = 0x00, kLt = 0x01, kLe = 0x02, kNeqUnordered = 0x04, kGe = 0x0D, kGt = 0x0E;

// The variable that caps oneDNN's instruction set and its value: ONEDNN_MAX_CPU_ISA, else the older
// name DNNL_MAX_CPU_ISA, which oneDNN also reads ({"", ""} when neither is set).
std::pair<std::string, std::string> isa_setting() {
  for (const char* name : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
    if (const char* value = std::getenv(name); value != nullptr) return {name, value};
  }
  return {"", ""};
}

// The widest instruction set that setting allows (avx512 when it is unset or ALL).
ChainIsa isa_allowed_by_environment() {
  const auto [variable, value] = isa_setting();
  if (value.empty()) return ChainIsa::avx512;
  std::string v = value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (v == "ALL" || v.starts_with("AVX512") || v.starts_with("AVX10")) return ChainIsa::avx512;
  if (v == "AVX2" || v == "AVX2_VNNI" || v == "AVX_VNNI" || v == "AVX2_VNNI_2") return ChainIsa::avx2;
  if (v == "SSE41" || v == "AVX") return ChainIsa::none;
  throw UsageError(fmt::format(
      "{}={}: not an instruction set oneDNN knows (SSE41, AVX, AVX2, AVX2_VNNI, AVX512_CORE, "
      "AVX512_CORE_VNNI, AVX512_CORE_BF16, AVX512_CORE_AMX, ALL)",
      variable, value));
}

class Compiler {
 public:
  Compiler(Xbyak::CodeGenerator& g, ChainIsa isa, std::vector<float>& constants)
      : g_(g), wide_(isa == ChainIsa::avx512), constants_(constants) {}

  // Throws std::runtime_error saying why the chain is not compiled.
  void compile(const std::vector<Instr>& program, const std::vector<Mode>& inputs, const std::vector<int>& outputs,
               int registers) {
    using namespace Xbyak::util;
    for (Mode m : inputs) {
      if (m == Mode::row) throw std::runtime_error("an input repeats a row (a bias)");
    }
    for (const Instr& in : program) declare_constants(in);  // refuses what has no code first
    const int end = static_cast<int>(program.size());
    find_last_uses(program, inputs, outputs, registers);
    reg_of_.assign(static_cast<std::size_t>(registers), -1);
    for (int z = wide_ ? 30 : 13; z >= 0; --z) free_.push_back(z);

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
    broadcast_before_the_loop(inputs);

    const int step = wide_ ? 64 : 32;
    Xbyak::Label loop, done;
    g_.cmp(rcx, r8);
    g_.jge(done, Xbyak::CodeGenerator::T_NEAR);
    g_.L(loop);
    for (int i : full) g_.vmovups(vec(take(i)), g_.ptr[base.at(i) + rcx]);
    for (int i = 0; i < end; ++i) emit(program[static_cast<std::size_t>(i)], i);
    for (std::size_t o = 0; o < outputs.size(); ++o) g_.vmovups(g_.ptr[out_base[o] + rcx], value(outputs[o]));
    g_.add(rcx, step);
    g_.cmp(rcx, r8);
    g_.jl(loop, Xbyak::CodeGenerator::T_NEAR);
    g_.L(done);
    g_.vzeroupper();
    for (auto it = std::rbegin(saved); it != std::rend(saved); ++it) g_.pop(*it);
    g_.ret();
  }

 private:
  // The last instruction that reads each value: an output's is the end of the iteration; a scalar
  // input's is after it (broadcast once, before the loop, its register is never freed).
  void find_last_uses(const std::vector<Instr>& program, const std::vector<Mode>& inputs, const std::vector<int>& outputs,
                      int registers) {
    const int end = static_cast<int>(program.size());
    last_use_.assign(static_cast<std::size_t>(registers), -1);
    for (int i = 0; i < end; ++i) {
      const Instr& in = program[static_cast<std::size_t>(i)];
      for (int r : {in.a, in.b, in.c}) {
        if (r >= 0) last_use_[static_cast<std::size_t>(r)] = i;
      }
    }
    for (int r : outputs) last_use_[static_cast<std::size_t>(r)] = end;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i] == Mode::scalar && last_use_[i] >= 0) last_use_[i] = end + 1;
    }
  }

  // Scalar inputs broadcast once (their pointer goes through rdx, saved around it); on AVX-512 the
  // ops' constants too, from the constants array (rdx), each into a register of its own.
  void broadcast_before_the_loop(const std::vector<Mode>& inputs) {
    using Xbyak::util::rdi, Xbyak::util::rdx;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i] != Mode::scalar || last_use_[i] < 0) continue;
      const int z = take(static_cast<int>(i));
      g_.push(rdx);
      g_.mov(rdx, g_.ptr[rdi + static_cast<int>(8 * i)]);
      g_.vbroadcastss(vec(z), g_.ptr[rdx]);
      g_.pop(rdx);
    }
    if (!wide_) return;
    for (std::size_t k = 0; k < constants_.size(); ++k) {
      const int z = pop_free();
      constant_zmm_.push_back(z);
      g_.vbroadcastss(Xbyak::Zmm(z), g_.ptr[rdx + static_cast<int>(4 * k)]);
    }
  }

  // Registers.
  Xbyak::Xmm vec(int index) const {
    if (wide_) return Xbyak::Zmm(index);
    return Xbyak::Ymm(index);
  }
  int pop_free() {
    if (free_.empty()) {
      throw std::runtime_error(fmt::format("the chain needs more than {} vector registers", wide_ ? 31 : 14));
    }
    const int z = free_.back();
    free_.pop_back();
    return z;
  }
  int take(int value) {
    const int z = pop_free();
    reg_of_[static_cast<std::size_t>(value)] = z;
    return z;
  }
  void release(int value) {
    int& z = reg_of_[static_cast<std::size_t>(value)];
    if (z >= 0) free_.push_back(z);
    z = -1;
  }
  int reg(int value) const {
    const int z = reg_of_.at(static_cast<std::size_t>(value));
    if (z < 0) throw std::logic_error(fmt::format("chain value {} has no register", value));
    return z;
  }
  Xbyak::Xmm value(int v) const { return vec(reg(v)); }

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
  // AVX2: the constant as a memory operand (the array holds it repeated over a vector).
  Xbyak::Address cm(float v) { return g_.yword[Xbyak::util::rdx + static_cast<int>(32 * constant(v))]; }
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
      case Ew::exp: declare_exp(); break;
      case Ew::sigmoid: declare_exp(), constant(1.f), constant(0.f), constant(bits(0x80000000u)); break;
      case Ew::tanh:
        declare_exp(), constant(1.f), constant(-2.f), constant(bits(0x80000000u)), constant(bits(0x7fffffffu));
        constant(kTanhSmall);
        for (float k : kTanhPoly) constant(k);
        break;
      case Ew::log: case Ew::sin: case Ew::cos: case Ew::pow: case Ew::softplus:
        throw std::runtime_error("a transcendental op other than exp, sigmoid and tanh (log, sin, cos, pow, softplus)");
      case Ew::constant: throw std::runtime_error("a formula's constant step");
    }
  }

  // One instruction. Operands are read before dst is written (dst may take the register of an
  // operand used for the last time here); temporaries hold intermediate results.
  void emit(const Instr& in, int index) {
    const int a = reg(in.a), b = in.b >= 0 ? reg(in.b) : a, c = in.c >= 0 ? reg(in.c) : a;
    if (in.op == Ew::exp || in.op == Ew::sigmoid || in.op == Ew::tanh) {  // many steps: dst apart from x
      const int d = take(in.dst);
      emit_transcendental(in.op, vec(d), vec(a));
      if (last_use_[static_cast<std::size_t>(in.a)] == index) release(in.a);
      if (last_use_[static_cast<std::size_t>(in.dst)] < 0) release(in.dst);
      return;
    }
    for (int r : {in.a, in.b, in.c}) {
      if (r >= 0 && last_use_[static_cast<std::size_t>(r)] == index && reg_of_[static_cast<std::size_t>(r)] >= 0) {
        release(r);
      }
    }
    const int d = take(in.dst);
    if (wide_) {
      emit_avx512(in, Xbyak::Zmm(d), Xbyak::Zmm(a), Xbyak::Zmm(b), Xbyak::Zmm(c));
    } else {
      emit_avx2(in, Xbyak::Ymm(d), Xbyak::Ymm(a), Xbyak::Ymm(b), Xbyak::Ymm(c));
    }
    if (last_use_[static_cast<std::size_t>(in.dst)] < 0) release(in.dst);  // read by nothing
  }

  // exp, sigmoid and tanh, one code for both instruction sets (the constants, bit operations and
  // selects differ; helpers below). Not the reference's bits: the error bounds are stated in
  // docs/backends.md and checked by tests/runtime/chain_jit_test.cpp.
  static constexpr float kExpLow = -86.9f, kExpHigh = 89.f;  // exp: 0 at or below, +inf above ~88.72
  static constexpr float kLog2e = 1.44269504088896341f;
  static constexpr float kLn2High = 0.693359375f, kLn2Low = -2.12194440e-4f;  // ln 2 = high + low
  // exp(r) - 1 - r over r in [-ln2/2, ln2/2] as r^2 (p0 r^5 + ... + p5): Cephes' expf
  static constexpr float kExpPoly[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                       4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
  static constexpr float kTanhSmall = 0.625f;  // below: tanh(x) = x + x^3 P(x^2) (Cephes' tanhf)
  static constexpr float kTanhPoly[] = {-5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f,
                                        1.33314422036e-1f, -3.33332819422e-1f};

  void declare_exp() {
    for (float k : {kExpLow, kExpHigh, kLog2e, kLn2High, kLn2Low, 1.f}) constant(k);
    for (float k : kExpPoly) constant(k);
    constant(bits(126));
  }

  // f(the constant v as an operand): a register on AVX-512, a memory operand on AVX2.
  template <class F>
  void with(float v, F f) {
    if (wide_) {
      f(cz(v));
    } else {
      f(cm(v));
    }
  }
  void load(const Xbyak::Xmm& d, float v) {
    with(v, [&](const auto& k) { g_.vmovups(d, k); });
  }
  void mul(const Xbyak::Xmm& d, const Xbyak::Xmm& a, float v) {
    with(v, [&](const auto& k) { g_.vmulps(d, a, k); });
  }
  void add(const Xbyak::Xmm& d, const Xbyak::Xmm& a, float v) {
    with(v, [&](const auto& k) { g_.vaddps(d, a, k); });
  }
  void bit_and(const Xbyak::Xmm& d, const Xbyak::Xmm& a, float v) {
    with(v, [&](const auto& k) { wide_ ? g_.vpandd(d, a, k) : g_.vandps(d, a, k); });
  }
  void bit_or(const Xbyak::Xmm& d, const Xbyak::Xmm& a, const Xbyak::Xmm& b) {
    wide_ ? g_.vpord(d, a, b) : g_.vorps(d, a, b);
  }
  // d = (x <predicate> v) ? yes : no; `scratch` holds the AVX2 lane mask (AVX-512 uses k1).
  void select(const Xbyak::Xmm& d, const Xbyak::Xmm& x, std::uint8_t predicate, float v, const Xbyak::Xmm& yes,
              const Xbyak::Xmm& no, const Xbyak::Xmm& scratch) {
    if (wide_) {
      g_.vcmpps(g_.k1, x, cz(v), predicate), g_.vblendmps(Xbyak::Zmm(d.getIdx()) | g_.k1, no, yes);
    } else {
      g_.vcmpps(scratch, x, cm(v), predicate), g_.vblendvps(d, no, yes, scratch);
    }
  }

  // y = exp(x), x unchanged; s0, s1, s2 scratch. exp(x) = 2^n exp(r), n = round(x log2 e),
  // r = x - n ln 2 (in two parts, so r is exact), exp(r) by the polynomial; 2^n built in the
  // exponent bits as 2 * 2^(n-1), so that n = 128 (x near the top of the float range) overflows
  // to infinity as it should. x at or below -86.9 gives 0 (exp(-86.9) is 1.8e-38, near the
  // smallest normal float); NaN stays NaN.
  void emit_exp(const Xbyak::Xmm& y, const Xbyak::Xmm& x, const Xbyak::Xmm& s0, const Xbyak::Xmm& s1,
                const Xbyak::Xmm& s2) {
    load(s0, kExpLow), g_.vmaxps(s0, s0, x);   // max(low, x): NaN gives x
    load(s1, kExpHigh), g_.vminps(s0, s1, s0);  // min(high, that): NaN gives it
    mul(s1, s0, kLog2e), g_.vcvtps2dq(s2, s1), g_.vcvtdq2ps(s1, s2);  // s2 = n (integer), s1 = n
    mul(y, s1, kLn2High), g_.vsubps(y, s0, y), mul(s1, s1, kLn2Low), g_.vsubps(s1, y, s1);  // s1 = r
    mul(y, s1, kExpPoly[0]);
    for (std::size_t k = 1; k < std::size(kExpPoly); ++k) add(y, y, kExpPoly[k]), g_.vmulps(y, y, s1);
    g_.vmulps(y, y, s1), g_.vaddps(y, y, s1), add(y, y, 1.f);  // exp(r)
    with(bits(126), [&](const auto& k) { g_.vpaddd(s2, s2, k); });
    g_.vpslld(s2, s2, 23), g_.vaddps(y, y, y), g_.vmulps(y, y, s2);  // 2 exp(r) 2^(n-1)
    // 0 where the clamped x is at the low end (NaN is not)
    if (wide_) {
      g_.vcmpps(g_.k1, s0, cz(kExpLow), 0x06), g_.vmovaps(Xbyak::Zmm(y.getIdx()) | g_.k1 | g_.T_z, y);  // not <=
    } else {
      g_.vcmpps(s1, s0, cm(kExpLow), kLe), g_.vandnps(y, s1, y);
    }
  }

  void emit_transcendental(Ew op, const Xbyak::Xmm& d, const Xbyak::Xmm& x) {
    Scratch s(*this, 4);
    const Xbyak::Xmm &e = s[0], &s0 = s[1], &s1 = s[2], &s2 = s[3];
    switch (op) {
      case Ew::exp: emit_exp(d, x, s0, s1, s2); break;
      case Ew::sigmoid:  // e = exp(-|x|): x >= 0 ? 1 / (1 + e) : e / (1 + e), as the reference
        load(d, bits(0x80000000u)), bit_or(d, d, x);  // -|x|
        emit_exp(e, d, s0, s1, s2);
        add(s0, e, 1.f), load(s1, 1.f);
        select(d, x, kLt, 0.f, e, s1, s2);
        g_.vdivps(d, d, s0);
        break;
      case Ew::tanh: {  // |x| < 0.625: |x| + |x|^3 P(x^2); else (1 - e) / (1 + e), e = exp(-2|x|); x's sign
        bit_and(s2, x, bits(0x7fffffffu));  // |x|
        mul(d, s2, -2.f);
        emit_exp(e, d, s0, s1, s2);
        bit_and(s2, x, bits(0x7fffffffu));  // (emit_exp used it)
        load(s0, 1.f), g_.vsubps(s0, s0, e), add(e, e, 1.f), g_.vdivps(d, s0, e);  // the large |x| form
        g_.vmulps(s0, s2, s2);                                                   // x^2
        mul(s1, s0, kTanhPoly[0]);
        for (std::size_t k = 1; k < std::size(kTanhPoly); ++k) add(s1, s1, kTanhPoly[k]), g_.vmulps(s1, s1, s0);
        g_.vmulps(s1, s1, s2), g_.vaddps(s1, s1, s2);  // the small |x| form
        select(d, s2, kLt, kTanhSmall, s1, d, s0);
        bit_and(s0, x, bits(0x80000000u)), bit_or(d, d, s0);
        break;
      }
      default: throw std::logic_error("not a transcendental op");
    }
  }

  // Vector registers for one op's intermediate values: the fixed temporaries first (zmm31; ymm14
  // and ymm15), then free ones, given back at the end (none free: the chain is interpreted).
  class Scratch {
   public:
    Scratch(Compiler& c, int n) : c_(c) {
      const std::vector<int> fixed = c.wide_ ? std::vector<int>{31} : std::vector<int>{15, 14};
      for (int k = 0; k < n; ++k) {
        const bool own = static_cast<std::size_t>(k) < fixed.size();
        const int r = own ? fixed[static_cast<std::size_t>(k)] : c.pop_free();
        if (!own) taken_.push_back(r);
        regs_.push_back(c.vec(r));
      }
    }
    ~Scratch() {
      for (int r : taken_) c_.free_.push_back(r);
    }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    const Xbyak::Xmm& operator[](std::size_t k) const { return regs_.at(k); }

   private:
    Compiler& c_;
    std::vector<int> taken_;
    std::vector<Xbyak::Xmm> regs_;
  };

  // The arithmetic both instruction sets write alike; false for the ops that compare or select.
  bool emit_arithmetic(const Instr& in, const Xbyak::Xmm& d, const Xbyak::Xmm& a, const Xbyak::Xmm& b,
                       const Xbyak::Xmm& c, const Xbyak::Xmm& t) {
    switch (in.op) {
      case Ew::sqrt: g_.vsqrtps(d, a); return true;
      case Ew::square: g_.vmulps(d, a, a); return true;
      case Ew::add: g_.vaddps(d, a, b); return true;
      case Ew::sub: g_.vsubps(d, a, b); return true;
      case Ew::mul: g_.vmulps(d, a, b); return true;
      case Ew::div: g_.vdivps(d, a, b); return true;
      case Ew::muladd: g_.vmulps(t, a, b), g_.vaddps(d, t, c); return true;
      case Ew::submul: g_.vmulps(t, a, b), g_.vsubps(d, c, t); return true;
      default: return false;
    }
  }

  // vcmpps's predicate for a comparison op (eq ... ge), -1 for any other op.
  static int predicate(Ew op) {
    switch (op) {
      case Ew::eq: return kEq;
      case Ew::ne: return kNeqUnordered;
      case Ew::lt: return kLt;
      case Ew::le: return kLe;
      case Ew::gt: return kGt;
      case Ew::ge: return kGe;
      default: return -1;
    }
  }

  void compare512(const Xbyak::Zmm& d, const Xbyak::Zmm& a, const Xbyak::Zmm& b, std::uint8_t predicate) {
    g_.vcmpps(g_.k1, a, b, predicate);
    g_.vmovaps(d | g_.k1 | g_.T_z, cz(1.f));
  }

  void emit_avx512(const Instr& in, const Xbyak::Zmm& d, const Xbyak::Zmm& a, const Xbyak::Zmm& b,
                   const Xbyak::Zmm& c) {
    const Xbyak::Zmm t(31);
    if (emit_arithmetic(in, d, a, b, c, t)) return;
    if (const int p = predicate(in.op); p >= 0) return compare512(d, a, b, static_cast<std::uint8_t>(p));
    auto& k1 = g_.k1;
    auto& k2 = g_.k2;
    switch (in.op) {
      case Ew::neg: g_.vpxord(d, a, cz(bits(0x80000000u))); break;
      case Ew::abs: g_.vpandd(d, a, cz(bits(0x7fffffffu))); break;
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
      default: throw std::logic_error("op without code");  // refused by declare_constants
    }
  }

  // AVX2: a comparison's lanes are all ones where it holds, so "p ? x : 0" is an and, "p ? x : y"
  // a blend on the lanes' sign bits; (0.0, 1.0 and -1.0 come out as the AVX-512 code's).
  void compare256(const Xbyak::Ymm& d, const Xbyak::Ymm& a, const Xbyak::Ymm& b, std::uint8_t predicate) {
    const Xbyak::Ymm t(15);
    g_.vcmpps(t, a, b, predicate), g_.vandps(d, t, cm(1.f));
  }

  void emit_avx2(const Instr& in, const Xbyak::Ymm& d, const Xbyak::Ymm& a, const Xbyak::Ymm& b,
                 const Xbyak::Ymm& c) {
    const Xbyak::Ymm t(15), u(14);
    if (emit_arithmetic(in, d, a, b, c, t)) return;
    if (const int p = predicate(in.op); p >= 0) return compare256(d, a, b, static_cast<std::uint8_t>(p));
    switch (in.op) {
      case Ew::neg: g_.vxorps(d, a, cm(bits(0x80000000u))); break;
      case Ew::abs: g_.vandps(d, a, cm(bits(0x7fffffffu))); break;
      case Ew::dropout: g_.vmulps(t, a, b), g_.vmulps(d, t, cm(static_cast<float>(in.p))); break;
      case Ew::tanh_bwd: g_.vmulps(t, b, b), g_.vmovups(u, cm(1.f)), g_.vsubps(t, u, t), g_.vmulps(d, a, t); break;
      case Ew::sigmoid_bwd: g_.vmovups(u, cm(1.f)), g_.vsubps(t, u, b), g_.vmulps(t, b, t), g_.vmulps(d, a, t); break;
      case Ew::relu: g_.vcmpps(t, a, cm(0.f), kGt), g_.vandps(d, t, a); break;
      case Ew::relu_bwd: g_.vcmpps(t, b, cm(0.f), kGt), g_.vandps(d, t, a); break;
      case Ew::leaky_relu:
        g_.vmulps(t, a, cm(static_cast<float>(in.p))), g_.vcmpps(u, a, cm(0.f), kGt), g_.vblendvps(d, t, a, u);
        break;
      case Ew::sign:
        g_.vcmpps(t, a, cm(0.f), kGt), g_.vandps(t, t, cm(1.f));
        g_.vcmpps(u, a, cm(0.f), kLt), g_.vandps(u, u, cm(-1.f)), g_.vorps(d, t, u);
        break;
      case Ew::where: g_.vcmpps(t, a, cm(0.f), kNeqUnordered), g_.vblendvps(d, c, b, t); break;
      default: throw std::logic_error("op without code");  // refused by declare_constants
    }
  }

  Xbyak::CodeGenerator& g_;
  const bool wide_;  // AVX-512 (else AVX2)
  std::vector<float>& constants_;
  std::vector<int> constant_zmm_;
  std::vector<int> last_use_, reg_of_, free_;
};

ChainIsa cpu_isa() {
  static const ChainIsa cpu = [] {
    const Xbyak::util::Cpu c;
    if (c.has(Xbyak::util::Cpu::tAVX512F)) return ChainIsa::avx512;
    return c.has(Xbyak::util::Cpu::tAVX2) ? ChainIsa::avx2 : ChainIsa::none;
  }();
  return cpu;
}

}  // namespace

ChainIsa ChainJit::isa() {
  static const ChainIsa chosen = std::min(cpu_isa(), isa_allowed_by_environment());  // once per process
  return chosen;
}

const char* ChainJit::name(ChainIsa isa) {
  switch (isa) {
    case ChainIsa::avx512: return "avx512";
    case ChainIsa::avx2: return "avx2";
    case ChainIsa::none: break;
  }
  return "none";
}

std::int64_t ChainJit::lanes(ChainIsa isa) {
  return isa == ChainIsa::avx512 ? 16 : isa == ChainIsa::avx2 ? 8 : 0;
}

ChainJit::ChainJit(std::unique_ptr<Code> code) : code_(std::move(code)) {}
ChainJit::~ChainJit() = default;

ChainIsa ChainJit::code_isa() const { return code_->isa; }

std::unique_ptr<ChainJit> ChainJit::compile(const std::vector<Instr>& program, const std::vector<Mode>& inputs,
                                            const std::vector<int>& outputs, int registers, std::string* why) {
  auto refuse = [&](const std::string& reason) -> std::unique_ptr<ChainJit> {
    if (why != nullptr) *why = reason;
    return nullptr;
  };
  const ChainIsa target = isa();  // a bad ONEDNN_MAX_CPU_ISA throws to the caller
  if (target == ChainIsa::none) {
    return refuse(cpu_isa() == ChainIsa::none
                      ? "the CPU has no AVX2"
                      : fmt::format("{}={} is below AVX2", isa_setting().first, isa_setting().second));
  }
  try {
    auto code = std::make_unique<Code>(4096 + 96 * (program.size() + inputs.size() + outputs.size()));
    code->isa = target;
    Compiler(code->gen, target, code->constants).compile(program, inputs, outputs, registers);
    if (target == ChainIsa::avx2) {  // each constant over a whole vector, for the memory operands
      std::vector<float> repeated;
      for (float v : code->constants) repeated.insert(repeated.end(), 8, v);
      code->constants = std::move(repeated);
    }
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
