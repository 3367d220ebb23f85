// Fuzz target: the variables and checkpoint reader, on any bytes. Whatever it accepts must save
// and load again to the same names (a file it reads is a file it could have written).
#include <cstdlib>

#include "fuzz_input.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/io/variables_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = symgrad::fuzz::write_input(data, size, ".bin");
  try {
    const symgrad::VariableStore store = symgrad::load_variables(path);
    symgrad::save_variables(store, path);
    if (symgrad::load_variables(path).names() != store.names()) std::abort();
  } catch (const symgrad::Error&) {
  }
  return 0;
}
