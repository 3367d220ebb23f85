// Saving and loading variables: the round trip keeps every bit, and a damaged, truncated or
// foreign file is an error that names the file and the tensor.

#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/io/variables_file.hpp"

namespace symgrad {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

VariableStore sample() {
  VariableStore s;
  s.set("dense1/W", Tensor::from(DType::f32, Shape{2, 3}, {0.1, -0.2, 0.3, 1e-30, -7, 3.25}));
  s.set("dense1/W/adam/m", Tensor::from(DType::f64, Shape{2, 3}, {1.0 / 3, 2, 3, 4, 5, 6}));
  s.set("optimizer/step", Tensor::scalar(DType::f64, 12));
  s.set("data/order", Tensor::from(DType::i64, Shape{4}, {3, 0, 2, 1}));
  return s;
}

std::string error_of(const std::string& path) {
  try {
    load_variables(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(VariablesFile, RoundTripKeepsEveryBit) {
  TempDir dir;
  const std::string file = (dir.path / "vars.bin").string();
  const VariableStore a = sample();
  save_variables(a, file);
  const VariableStore b = load_variables(file);
  ASSERT_EQ(a.names(), b.names());
  for (const auto& n : a.names()) {
    ASSERT_EQ(a.get(n).type(), b.get(n).type()) << n;
    EXPECT_EQ(std::memcmp(a.get(n).raw(), b.get(n).raw(), a.get(n).nbytes()), 0) << n;
  }
  // saving again replaces the file, and leaves no temporary behind
  save_variables(b, file);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator{}), 1);
}

TEST(VariablesFile, DamageIsFoundAndNamed) {
  TempDir dir;
  const std::string file = (dir.path / "vars.bin").string();
  save_variables(sample(), file);
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& b) { std::ofstream(file, std::ios::binary | std::ios::trunc) << b; };
  // flip one byte of the first tensor's data ("data/order" sorts first)
  std::string flipped = bytes;
  flipped[bytes.find("data/order") + 10 + 1 + 4 + 8 + 8 + 3] ^= 0x40;
  write(flipped);
  EXPECT_NE(error_of(file).find("tensor 'data/order' fails its checksum"), std::string::npos) << error_of(file);
  write(bytes.substr(0, bytes.size() - 5));
  EXPECT_NE(error_of(file).find("is truncated"), std::string::npos) << error_of(file);
  write("not a symgrad file at all");
  EXPECT_NE(error_of(file).find("bad magic"), std::string::npos);
  EXPECT_NE(error_of((dir.path / "missing.bin").string()).find("cannot open"), std::string::npos);
}

TEST(VariablesFile, AFailedSaveKeepsThePreviousFile) {
  TempDir dir;
  const std::string file = (dir.path / "vars.bin").string();
  save_variables(sample(), file);
  EXPECT_THROW(save_variables(sample(), (dir.path / "no-such-dir" / "vars.bin").string()), Error);
  EXPECT_EQ(load_variables(file).names(), sample().names());
}

}  // namespace
}  // namespace symgrad
