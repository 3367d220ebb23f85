#pragma once
// The chain compiler: turns a fused elementwise chain's program into x86-64 AVX-512 machine code
// (with Xbyak) that keeps every value of the chain in a vector register, so one pass over memory
// loads each input and stores each output once per 16 elements and does nothing else. The chain
// kernel's interpreter runs what it does not take (other CPUs, f64, transcendental ops, bias
// rows, chains needing more registers) and the last elements after the final full vector.
// Internal to the runtime.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chain_program.hpp"

namespace symgrad::fusion {

class ChainJit {
 public:
  /// Elements per vector: the generated code runs whole vectors only.
  static constexpr std::int64_t kVector = 16;

  /// Compiles `program` (f32) over `inputs` (how each input register is read; inputs are
  /// registers 0..inputs.size()-1) with the values `outputs` written out. Returns nullptr when the
  /// CPU or the chain is not one the compiler takes; `why` then says which.
  static std::unique_ptr<ChainJit> compile(const std::vector<Instr>& program, const std::vector<Mode>& inputs,
                                           const std::vector<int>& outputs, int registers, std::string* why = nullptr);

  ~ChainJit();
  ChainJit(const ChainJit&) = delete;
  ChainJit& operator=(const ChainJit&) = delete;

  /// Runs elements [begin, end) (end - begin a multiple of kVector): `in[i]` is input i's data
  /// (full inputs from element 0; scalar inputs' one value), `out[o]` output o's. An output may
  /// be an input's memory: each vector's loads come before its stores.
  void run(const float* const* in, float* const* out, std::int64_t begin, std::int64_t end) const;

 private:
  struct Code;
  explicit ChainJit(std::unique_ptr<Code> code);
  std::unique_ptr<Code> code_;
};

}  // namespace symgrad::fusion
