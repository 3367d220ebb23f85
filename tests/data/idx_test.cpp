// IDX files: written here plain and gzip-compressed, read back; headers that lie about their
// size are refused before anything is allocated; and the real Fashion-MNIST test set.

#include <zlib.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/data/idx.hpp"

namespace symgrad {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

// An IDX file of bytes: magic, big-endian dims, data.
std::string idx_bytes(const std::vector<std::uint32_t>& dims, const std::vector<unsigned char>& data, unsigned type = 0x08) {
  std::string s = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (auto d : dims) s += {static_cast<char>(d >> 24), static_cast<char>(d >> 16), static_cast<char>(d >> 8), static_cast<char>(d)};
  s.append(data.begin(), data.end());
  return s;
}

void write_plain(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

void write_gzip(const fs::path& p, const std::string& bytes) {
  gzFile f = gzopen(p.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

std::string error_of(const fs::path& p) {
  try {
    read_idx(p.string());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Idx, PlainAndGzipRoundTrip) {
  TempDir dir;
  const std::string bytes = idx_bytes({2, 3}, {0, 1, 2, 250, 254, 255});
  write_plain(dir.path / "a.idx", bytes);
  write_gzip(dir.path / "a.idx.gz", bytes);
  for (const char* name : {"a.idx", "a.idx.gz"}) {
    const Tensor t = read_idx((dir.path / name).string());
    EXPECT_EQ(t.shape(), (Shape{2, 3})) << name;
    EXPECT_EQ(t.to_vector(), (std::vector<double>{0, 1, 2, 250, 254, 255})) << name;
  }
  // big-endian ints and floats
  write_plain(dir.path / "i.idx", idx_bytes({2}, {0, 0, 1, 2, 0xff, 0xff, 0xff, 0xfe}, 0x0C));
  EXPECT_EQ(read_idx((dir.path / "i.idx").string()).to_vector(), (std::vector<double>{258, -2}));
  write_plain(dir.path / "f.idx", idx_bytes({1}, {0x3f, 0xc0, 0, 0}, 0x0D));  // 1.5f
  EXPECT_EQ(read_idx((dir.path / "f.idx").string()).to_vector(), (std::vector<double>{1.5}));
}

TEST(Idx, LyingHeadersAreRefusedBeforeAllocating) {
  TempDir dir;
  // a header promising 60000 x 28 x 28 bytes over 6 bytes of data (plain and gzip)
  const std::string liar = idx_bytes({60000, 28, 28}, {1, 2, 3, 4, 5, 6});
  write_plain(dir.path / "l.idx", liar);
  write_gzip(dir.path / "l.idx.gz", liar);
  EXPECT_NE(error_of(dir.path / "l.idx").find("47040000 elements (60000x28x28)"), std::string::npos)
      << error_of(dir.path / "l.idx");
  EXPECT_NE(error_of(dir.path / "l.idx").find("it has 22 bytes"), std::string::npos);
  EXPECT_NE(error_of(dir.path / "l.idx.gz").find("gzip trailer records 22 bytes"), std::string::npos)
      << error_of(dir.path / "l.idx.gz");
  write_plain(dir.path / "m.idx", std::string("\x01\x02\x08\x01", 4));
  EXPECT_NE(error_of(dir.path / "m.idx").find("is not an IDX file"), std::string::npos);
  write_plain(dir.path / "t.idx", idx_bytes({2}, {1, 2}, 0x07));
  EXPECT_NE(error_of(dir.path / "t.idx").find("unknown IDX element type 0x07"), std::string::npos);
  write_plain(dir.path / "z.idx", idx_bytes({0}, {}));
  EXPECT_NE(error_of(dir.path / "z.idx").find("empty or too large"), std::string::npos);
  EXPECT_NE(error_of(dir.path / "missing.idx").find("cannot open"), std::string::npos);
}

// A gzip header that lies by 4 GiB: the trailer's size (modulo 2^32) agrees with it, so only the
// data tells. It is read as it arrives (64 MiB at most ahead), not allocated from the header: a
// finding of the IDX fuzzer (a 4 GiB allocation).
TEST(Idx, AGzipHeaderLyingBy4GiBIsNotAllocated) {
  TempDir dir;
  // 65536 x 65537 bytes = 2^32 + 65536: modulo 2^32 the file's 65536 bytes of data
  write_gzip(dir.path / "liar.idx.gz", idx_bytes({65536, 65537}, std::vector<unsigned char>(65536, 7)));
  EXPECT_NE(error_of(dir.path / "liar.idx.gz").find("ends inside the data (read 65536 of 67108864 bytes)"),
            std::string::npos)
      << error_of(dir.path / "liar.idx.gz");
}

// Float data with a NaN or an infinity: refused, naming the element.
TEST(Idx, NonFiniteFloatDataIsNamed) {
  TempDir dir;
  write_plain(dir.path / "nan.idx", idx_bytes({3}, {0x3f, 0x80, 0, 0, 0x7f, 0xc0, 0, 0, 0, 0, 0, 0}, 0x0D));  // 1, NaN, 0
  EXPECT_NE(error_of(dir.path / "nan.idx").find("element 1 is nan (float data must be finite)"), std::string::npos)
      << error_of(dir.path / "nan.idx");
}

// Debian's dataset-fashion-mnist (installed by scripts/setup): the test part has 10000 images of
// 28 x 28 in [0, 1] and 1000 of each of the 10 classes.
TEST(Idx, FashionMnistTestSet) {
  if (!fs::exists(kFashionMnistDir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const Dataset d = load_fashion_mnist("test");
  EXPECT_EQ(d.features.shape(), (Shape{10000, 1, 28, 28}));
  EXPECT_EQ(d.num_classes, 10);
  std::vector<int> per_class(10, 0);
  for (std::int64_t i = 0; i < d.size(); ++i) ++per_class[static_cast<std::size_t>(d.labels.data<std::int32_t>()[i])];
  EXPECT_EQ(per_class, std::vector<int>(10, 1000));
  float lo = 1, hi = 0;
  for (std::int64_t i = 0; i < d.features.numel(); ++i) lo = std::min(lo, d.features.data<float>()[i]), hi = std::max(hi, d.features.data<float>()[i]);
  EXPECT_EQ(lo, 0.0f);
  EXPECT_EQ(hi, 1.0f);
  EXPECT_THROW(load_fashion_mnist("validation"), UsageError);
}

}  // namespace
}  // namespace symgrad
