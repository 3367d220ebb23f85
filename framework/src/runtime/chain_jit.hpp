#pragma once
// The chain compiler: turns a fused elementwise chain's program into x86-64 machine code (with
// Xbyak), AVX-512 or AVX2, that keeps every value of the chain in a vector register, so one pass
// over memory loads each input and stores each output once per vector and does nothing else. The
// chain kernel's interpreter runs what it does not take (CPUs without AVX2, f64, transcendental
// ops other than exp, sigmoid and tanh, bias rows, chains needing more registers) and the last
// elements after the final full vector. exp, sigmoid and tanh are within 1, 2 and 1 ulps of the
// correctly rounded value (docs/backends.md); every other op gives the reference's bits.
//
// The instruction set is chosen once per process: the widest the CPU has, lowered by the variable
// ONEDNN_MAX_CPU_ISA (oneDNN's own switch, so one setting lowers both; or its older name
// DNNL_MAX_CPU_ISA): a value from AVX512 up keeps AVX-512, AVX2 or AVX2_VNNI (or AVX_VNNI) gives
// AVX2, SSE41 or AVX gives no machine code, ALL or unset the CPU's best. Internal to the runtime.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chain_program.hpp"

namespace symgrad::fusion {

enum class ChainIsa { none, avx2, avx512 };

class ChainJit {
 public:
  /// The instruction set this process compiles chains for (see above). Throws UsageError naming
  /// ONEDNN_MAX_CPU_ISA when it holds a value that is not one of oneDNN's.
  static ChainIsa isa();
  /// "avx512", "avx2" or "none".
  static const char* name(ChainIsa isa);
  /// Elements per vector for `isa` (16, 8; 0 for none).
  static std::int64_t lanes(ChainIsa isa);

  /// Compiles `program` (f32) over `inputs` (how each input register is read; inputs are
  /// registers 0..inputs.size()-1) with the values `outputs` written out, for isa(). Returns
  /// nullptr when the instruction set or the chain is not one the compiler takes; `why` then says
  /// which.
  static std::unique_ptr<ChainJit> compile(const std::vector<Instr>& program, const std::vector<Mode>& inputs,
                                           const std::vector<int>& outputs, int registers, std::string* why = nullptr);

  ~ChainJit();
  ChainJit(const ChainJit&) = delete;
  ChainJit& operator=(const ChainJit&) = delete;

  /// The instruction set of the code, and its elements per vector: the code runs whole vectors only.
  ChainIsa code_isa() const;
  std::int64_t lanes() const { return lanes(code_isa()); }

  /// Runs elements [begin, end) (end - begin a multiple of lanes()): `in[i]` is input i's data
  /// (full inputs from element 0; scalar inputs' one value), `out[o]` output o's. An output may
  /// be an input's memory: each vector's loads come before its stores.
  void run(const float* const* in, float* const* out, std::int64_t begin, std::int64_t end) const;

 private:
  struct Code;
  explicit ChainJit(std::unique_ptr<Code> code);
  std::unique_ptr<Code> code_;
};

}  // namespace symgrad::fusion
