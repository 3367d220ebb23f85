// Fuzz target: NumPy's .npy and .npz readers (data/npy.hpp) on any bytes: an array or an Error,
// never a crash, a hang or an allocation the file does not justify.
#include <cstdint>
#include <string>

#include "symgrad/core/error.hpp"
#include "symgrad/data/npy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    (void)symgrad::parse_npy(bytes, "fuzz.npy");
  } catch (const symgrad::Error&) {
  }
  try {
    const auto arrays = symgrad::parse_npz(bytes, "fuzz.npz");
    (void)symgrad::dataset_from_arrays("fuzz.npz", arrays);
  } catch (const symgrad::Error&) {
  }
  return 0;
}
