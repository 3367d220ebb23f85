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

std::string read_bytes(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& file, const std::string& b) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << b;
}

// Cut at every byte offset: always an error naming the file, never a partial store.
TEST(VariablesFile, TruncatedAtEveryOffsetIsAnError) {
  TempDir dir;
  const std::string file = (dir.path / "vars.bin").string(), cut = (dir.path / "cut.bin").string();
  save_variables(sample(), file);
  const std::string bytes = read_bytes(file);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    write_bytes(cut, bytes.substr(0, n));
    const std::string e = error_of(cut);
    EXPECT_NE(e.find("'" + cut + "' is truncated"), std::string::npos) << "cut at " << n << ": " << e;
  }
}

// One bit flipped anywhere (magic, version, count, a name, a dtype, a shape, a byte count, data,
// a checksum): always an error, never another store read as if it were this one.
TEST(VariablesFile, EveryBitFlipIsFound) {
  TempDir dir;
  const std::string file = (dir.path / "vars.bin").string(), bad = (dir.path / "bad.bin").string();
  save_variables(sample(), file);
  const std::string bytes = read_bytes(file);
  for (std::size_t at = 0; at < bytes.size(); ++at) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[at] = static_cast<char>(flipped[at] ^ (1 << bit));
      write_bytes(bad, flipped);
      EXPECT_NE(error_of(bad), "") << "byte " << at << " bit " << bit;
    }
  }
  // a flipped name is named by its checksum (version 2 hashes the whole record)
  std::string renamed = bytes;
  renamed[bytes.find("dense1/W") + 5] = '2';
  write_bytes(bad, renamed);
  EXPECT_NE(error_of(bad).find("tensor 'dense2/W' fails its checksum"), std::string::npos) << error_of(bad);
}

TEST(VariablesFile, NewerVersionSaysSo) {
  TempDir dir;
  const std::string file = (dir.path / "vars.bin").string();
  save_variables(sample(), file);
  std::string bytes = read_bytes(file);
  bytes[8] = 7;  // the version, little-endian
  write_bytes(file, bytes);
  EXPECT_NE(error_of(file).find("has format version 7; this symgrad reads versions 1 to 2 (written by a newer symgrad?)"),
            std::string::npos)
      << error_of(file);
}

// A full disk: the save fails with the system's reason, the previous file is intact and no
// temporary is left behind (/dev/full: every write fails with ENOSPC).
TEST(VariablesFile, AFullDiskKeepsThePreviousFile) {
  TempDir dir;
  const std::string file = (dir.path / "vars.bin").string();
  save_variables(sample(), file);
  const std::string before = read_bytes(file);
  if (std::filesystem::exists("/dev/full") && ::access("/dev", W_OK) == 0) {
    // the temporary is the file's name + ".tmp-<pid>": make it /dev/full through a symbolic link
    const std::string tmp = file + ".tmp-" + std::to_string(::getpid());
    std::filesystem::create_symlink("/dev/full", tmp);
    try {
      save_variables(sample(), file);
      ADD_FAILURE() << "a save to a full disk succeeded";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(tmp)));
  }
  EXPECT_EQ(read_bytes(file), before);
  // a folder that cannot be written (not for root, who writes anywhere)
  if (::geteuid() != 0) {
    std::filesystem::permissions(dir.path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    EXPECT_THROW(save_variables(sample(), file), Error);
    std::filesystem::permissions(dir.path, std::filesystem::perms::owner_all);
    EXPECT_EQ(read_bytes(file), before);
  }
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
