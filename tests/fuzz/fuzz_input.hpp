#pragma once
// What every fuzz target shares: the readers under test take a path, so each input is written to
// one file of this process (in the temporary folder), read, and removed at exit. An input may only
// end in the framework's own errors (symgrad::Error and its kinds); anything else that escapes is
// a finding, as is every crash, leak or undefined behaviour the sanitizers see.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace symgrad::fuzz {

inline const std::string& scratch_file(const char* suffix) {
  static const std::string path = [&] {
    std::string p = (std::filesystem::temp_directory_path() / ("symgrad-fuzz-" + std::to_string(::getpid()) + suffix)).string();
    std::atexit([] { std::remove(scratch_file("").c_str()); });
    return p;
  }();
  return path;
}

inline const std::string& write_input(const std::uint8_t* data, std::size_t size, const char* suffix) {
  const std::string& path = scratch_file(suffix);
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                static_cast<std::streamsize>(size));
  return path;
}

}  // namespace symgrad::fuzz
