// Fuzz target: the experiment reader (TOML, then every check of the experiment's keys and values)
// on any text. The data sets it names are not loaded: reading an experiment must not touch them.
#include "fuzz_input.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/train/experiment.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)symgrad::load_experiment(symgrad::fuzz::write_input(data, size, ".toml"));
  } catch (const symgrad::Error&) {
  }
  return 0;
}
