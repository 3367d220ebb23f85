// Fuzz target: the IDX reader (plain and gzip, told apart by their first bytes), on any bytes.
#include "fuzz_input.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/data/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)symgrad::read_idx(symgrad::fuzz::write_input(data, size, ".idx"));
  } catch (const symgrad::Error&) {
  }
  return 0;
}
