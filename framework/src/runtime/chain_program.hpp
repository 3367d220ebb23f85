#pragma once
// The program a fused elementwise chain runs: single-assignment registers (the chain's inputs
// first, then one per instruction), shared by the chain kernel's interpreter and its compiler
// (chain_jit). Internal to the runtime.

#include <cstdint>

namespace symgrad::fusion {

enum class Ew : std::uint8_t {
  neg, exp, log, sin, cos, sqrt, square, abs, sign, pow, relu, leaky_relu, sigmoid, tanh, softplus,
  add, sub, mul, div, eq, ne, lt, le, gt, ge, where, dropout, relu_bwd, tanh_bwd, sigmoid_bwd,
  muladd,  // a * b + c: an add of a product used nowhere else (one pass instead of two)
  submul,  // c - a * b
  constant // p (a formula's constant step: no argument)
};

// One instruction: dst = op(a, b, c) over a block, registers by index.
struct Instr {
  Ew op;
  int dst, a = -1, b = -1, c = -1;
  double p = 0.0;  // pow's exponent, leaky_relu's alpha, dropout's scale, a constant's value
};

// How a chain input is read: the whole tensor, one value, or a repeating trailing row.
enum class Mode { full, scalar, row };

}  // namespace symgrad::fusion
