// Fuzz target: the CSV reader, on any bytes, with the label column last and first (the separator and the
// header detected).
#include "fuzz_input.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/data/csv.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = symgrad::fuzz::write_input(data, size, ".csv");
  for (int label_column : {-1, 0}) {
    try {
      symgrad::CsvOptions o;
      o.label = symgrad::CsvColumn::at(label_column);
      (void)symgrad::read_csv(path, o);
    } catch (const symgrad::Error&) {
    }
  }
  return 0;
}
