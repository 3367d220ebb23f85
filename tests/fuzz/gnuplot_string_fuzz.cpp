// Fuzz target: the quoting of text for gnuplot (apps/symgrad/plot/gnuplot.hpp), on any bytes. Text
// with a control character is refused; any other text becomes one single-quoted string that gnuplot
// reads back as exactly that text: no quote ends it early, so nothing after it is a command.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "plot/gnuplot.hpp"
#include "symgrad/core/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string quoted;
  try {
    quoted = symgrad::cli::gnuplot_string(text, "title");
  } catch (const symgrad::UsageError&) {
    for (const char c : text) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return 0;  // refused for a reason
    }
    std::abort();  // refused text with no control character
  }
  // read it back as gnuplot does: '' is a quote, a lone ' ends the string
  if (quoted.size() < 2 || quoted.front() != '\'' || quoted.back() != '\'') std::abort();
  std::string back;
  for (std::size_t i = 1; i + 1 < quoted.size(); ++i) {
    if (quoted[i] == '\'') {
      if (i + 2 >= quoted.size() || quoted[i + 1] != '\'') std::abort();  // the string would end here
      ++i;
    }
    const auto u = static_cast<unsigned char>(quoted[i]);
    if (u < 0x20 || u == 0x7f) std::abort();
    back += quoted[i];
  }
  if (back != text) std::abort();
  return 0;
}
