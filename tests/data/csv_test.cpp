// CSV data sets: a header line, the label column, and errors that name the line and column.

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <gtest/gtest.h>

#include "symgrad/core/error.hpp"
#include "symgrad/data/csv.hpp"

namespace symgrad {
namespace {

namespace fs = std::filesystem;

fs::path write(const std::string& text) {
  const fs::path p = fs::temp_directory_path() / ("symgrad-csv-" + std::to_string(::getpid()) + "-" +
                                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
  std::ofstream(p) << text;
  return p;
}

std::string error_of(const std::string& text) {
  const fs::path p = write(text);
  try {
    read_csv(p.string());
  } catch (const Error& e) {
    fs::remove(p);
    return e.what();
  }
  fs::remove(p);
  return "";
}

TEST(Csv, HeaderFeaturesAndLastColumnLabels) {
  const fs::path p = write("x0, x1, label\n0.5, -1, 1\n\n2, 3.25, 0\n1e-3,4,2\n");
  const Dataset d = read_csv(p.string());
  fs::remove(p);
  EXPECT_EQ(d.features.shape(), (Shape{3, 2}));
  EXPECT_EQ(d.features.to_vector(), (std::vector<double>{0.5, -1, 2, 3.25, static_cast<float>(1e-3), 4}));
  EXPECT_EQ(d.labels.to_vector(), (std::vector<double>{1, 0, 2}));
  EXPECT_EQ(d.num_classes, 3);
}

TEST(Csv, LabelColumnFirst) {
  const fs::path p = write("1,0.5,0.25\n0,1,2\n");
  const Dataset d = read_csv(p.string(), CsvOptions{0, ','});
  fs::remove(p);
  EXPECT_EQ(d.labels.to_vector(), (std::vector<double>{1, 0}));
  EXPECT_EQ(d.features.to_vector(), (std::vector<double>{0.5, 0.25, 1, 2}));
}

TEST(Csv, ErrorsNameLineAndColumn) {
  EXPECT_NE(error_of("1,2,0\n3,x,1\n").find(":2:3: 'x' is not a number"), std::string::npos) << error_of("1,2,0\n3,x,1\n");
  EXPECT_NE(error_of("1,2,0\n3,4\n").find(":2: 2 columns, the first row has 3"), std::string::npos);
  EXPECT_NE(error_of("1,2,0.5\n").find(":1:5: label '0.5' is not a class"), std::string::npos) << error_of("1,2,0.5\n");
  EXPECT_NE(error_of("a,b\n").find("has no data rows"), std::string::npos);
}

// Regression: the last `targets` columns are real targets, the array "y" [N, targets]; no labels.
TEST(Csv, RealTargetColumnsForRegression) {
  const fs::path p = write("a, b, t1, t2\n0.5, -1, 1.5, -0.25\n2, 3, 0, 7\n");
  CsvOptions o;
  o.targets = 2;
  const Dataset d = read_csv(p.string(), o);
  EXPECT_EQ(d.features.type().to_string(), "f32[2, 2]");
  EXPECT_FALSE(d.labels.defined());
  EXPECT_EQ(d.array("y").type().to_string(), "f32[2, 2]");
  EXPECT_EQ(d.array("y").to_vector(), (std::vector<double>{1.5, -0.25, 0, 7}));
  EXPECT_EQ(d.features.to_vector(), (std::vector<double>{0.5, -1, 2, 3}));
  o.targets = 4;  // no feature column left
  try {
    read_csv(p.string(), o);
    ADD_FAILURE() << "read a data set with no features";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("a row needs features and 4 target columns, found 4 columns"), std::string::npos)
        << e.what();
  }
  fs::remove(p);
}

}  // namespace
}  // namespace symgrad
