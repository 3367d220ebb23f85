// NumPy's .npy and .npz files (data/npy.hpp), read from files NumPy wrote (tests/data/npy, made by
// make_fixtures.py there): values, C and Fortran order, byte orders, stored and deflated archives,
// data sets of named arrays; and damaged files refused with the file's name.
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "symgrad/core/error.hpp"
#include "symgrad/data/npy.hpp"

namespace symgrad {
namespace {

std::string fixture(const std::string& name) { return std::string(SYMGRAD_NPY_DIR) + "/" + name; }

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Npy, ReadsWhatNumpyWrote) {
  const Tensor x = read_npy(fixture("f4.npy"));
  EXPECT_EQ(x.type().to_string(), "f32[3, 4]");
  EXPECT_EQ(x.get(0), -1.0);
  EXPECT_EQ(x.get(11), 1.75);
  // Fortran order read into C order: arange(6).reshape(2, 3) * 1.5
  const Tensor f = read_npy(fixture("f8_fortran.npy"));
  EXPECT_EQ(f.type().to_string(), "f64[2, 3]");
  EXPECT_EQ(f.to_vector(), (std::vector<double>{0, 1.5, 3, 4.5, 6, 7.5}));
  // big-endian 16-bit integers, sign kept
  EXPECT_EQ(read_npy(fixture("i2_big.npy")).to_vector(), (std::vector<double>{-2, 300, 7, -32768}));
  EXPECT_EQ(read_npy(fixture("u1.npy")).to_vector(), (std::vector<double>{0, 9, 255}));
  EXPECT_EQ(read_npy(fixture("b1.npy")).to_vector(), (std::vector<double>{1, 0, 1}));
  const Tensor big = read_npy(fixture("i8_large.npy"));  // 2^40 does not fit i32
  EXPECT_EQ(big.dtype(), DType::i64);
  EXPECT_EQ(big.get(1), 1099511627776.0);
  const Tensor s = read_npy(fixture("scalar.npy"));
  EXPECT_EQ(s.shape().rank(), 0u);
  EXPECT_EQ(s.get(0), 2.5);
}

TEST(Npy, ReadsStoredAndDeflatedArchivesAsDataSets) {
  for (const char* file : {"stored.npz", "deflated.npz"}) {
    const auto arrays = read_npz(fixture(file));
    ASSERT_EQ(arrays.size(), 3u) << file;
    EXPECT_EQ(arrays.at("x").to_vector(), read_npy(fixture("f4.npy")).to_vector()) << file;
    const Dataset d = dataset_from_arrays(file, arrays);
    EXPECT_EQ(d.size(), 3);
    EXPECT_EQ(d.labels.to_vector(), (std::vector<double>{0, 2, 1}));  // integer y: classes
    EXPECT_EQ(d.num_classes, 3);
    EXPECT_EQ(d.array("target").type().to_string(), "f32[3, 1]");  // a real target, by its name
    EXPECT_EQ(d.array("target").get(1), -1.0);
  }
}

TEST(Npy, RefusesDamagedFilesNamingThem) {
  const std::string good = bytes_of(fixture("f4.npy"));
  EXPECT_NE(error_of([&] { parse_npy(good.substr(0, good.size() - 3), "cut.npy"); }).find("'cut.npy' is truncated"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_npy(good.substr(0, 40), "head.npy"); }).find("'head.npy' is truncated in its header"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_npy("PK\x03\x04 not npy", "zip.npy"); }).find("'zip.npy' is not a .npy file"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_npy(fixture("objects.npy")); }).find("unsupported element type '<U2'"), std::string::npos);
  std::string shape = good;
  shape.replace(shape.find("(3, 4)"), 6, "(3, 5)");
  EXPECT_NE(error_of([&] { parse_npy(shape, "shape.npy"); }).find("'shape.npy' is truncated: its shape [3, 5]"),
            std::string::npos);
  std::string npz = bytes_of(fixture("deflated.npz"));
  npz[60] = static_cast<char>(npz[60] ^ 0x55);  // inside the first member's compressed data
  const std::string e = error_of([&] { read_npz("bad.npz"); });
  EXPECT_NE(e.find("cannot open 'bad.npz'"), std::string::npos) << e;
  const std::string path = ::testing::TempDir() + "damaged.npz";
  std::ofstream(path, std::ios::binary) << npz;
  const std::string d = error_of([&] { read_npz(path); });
  EXPECT_NE(d.find("damaged.npz (member 'x.npy')"), std::string::npos) << d;
  EXPECT_NE(error_of([&] { dataset_from_arrays("a.npz", {{"y", Tensor(DType::i32, Shape{2})}}); }).find("'a.npz' has no array 'x'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              dataset_from_arrays("b.npz", {{"x", Tensor(DType::f32, Shape{2, 3})}, {"y", Tensor(DType::i32, Shape{3})}});
            }).find("'b.npz': array 'y' has 3 rows, 'x' has 2"),
            std::string::npos);
}

}  // namespace
}  // namespace symgrad
