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
  CsvOptions o;
  o.label = CsvColumn::at(0);
  const Dataset d = read_csv(p.string(), o);
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


// The shapes of CSV files people export (pandas' to_csv, Excel, R): each reads with at most a
// [data] key naming the label.

// RFC 4180: quoted fields hold the separator, line breaks and "" (a quote); CRLF line ends and a
// byte-order mark are read; errors still name the line where a field starts.
TEST(Csv, QuotedFieldsCrlfAndAByteOrderMark) {
  const fs::path p = write("\xEF\xBB\xBF\"size, in cm\",\"say \"\"hi\"\"\",kind\r\n1.5,2,\"big,\nred\"\r\n\"3\",4,small\r\n");
  CsvInfo info;
  const Dataset d = read_csv(p.string(), {}, &info);
  fs::remove(p);
  EXPECT_TRUE(info.header);
  EXPECT_EQ(info.separator, ',');
  EXPECT_EQ(info.feature_names, (std::vector<std::string>{"size, in cm", "say \"hi\""}));
  EXPECT_EQ(info.label_name, "kind");
  EXPECT_EQ(info.classes, (std::vector<std::string>{"big,\nred", "small"}));
  EXPECT_EQ(d.features.to_vector(), (std::vector<double>{1.5, 2, 3, 4}));
  EXPECT_EQ(d.labels.to_vector(), (std::vector<double>{0, 1}));
  EXPECT_NE(error_of("a,b\n1,2\n3,\"4\n").find(":3:3: a quoted field is not closed"), std::string::npos)
      << error_of("a,b\n1,2\n3,\"4\n");
  EXPECT_NE(error_of("a,b,c\n1,\"2\"x,0\n").find(":2:6: text after a quoted field's closing quote"), std::string::npos)
      << error_of("a,b,c\n1,\"2\"x,0\n");
  // a line break inside a quoted field counts: the next row's error names its own line
  EXPECT_NE(error_of("a,b,c\n1,2,\"x\ny\"\n3,q,z\n").find(":4:3: 'q' is not a number"), std::string::npos)
      << error_of("a,b,c\n1,2,\"x\ny\"\n3,q,z\n");
}

// Europe's Excel writes ';' (with decimal commas); R and pandas can write tabs: the separator that
// splits every row alike is found, and a decimal comma is named.
TEST(Csv, TheSeparatorIsDetected) {
  for (const std::string sep : {";", "\t", "|"}) {
    const fs::path p = write("a" + sep + "b" + sep + "y\n0.5" + sep + "1" + sep + "0\n2" + sep + "3" + sep + "1\n");
    CsvInfo info;
    const Dataset d = read_csv(p.string(), {}, &info);
    fs::remove(p);
    EXPECT_EQ(info.separator, sep[0]);
    EXPECT_EQ(d.features.to_vector(), (std::vector<double>{0.5, 1, 2, 3}));
  }
  EXPECT_NE(error_of("a;b;y\n0,5;1;0\n").find(":2:1: '0,5' is not a number (a decimal comma"), std::string::npos)
      << error_of("a;b;y\n0,5;1;0\n");
  // one column: the rule and the way out, not "found 1 column" alone
  EXPECT_NE(error_of("a b y\n1 2 0\n").find("a row needs features and a label, found 1 column (split by ','; [data] "
                                          "separator"),
            std::string::npos)
      << error_of("a b y\n1 2 0\n");
}

// String labels become classes in sorted order; the test file uses the training file's classes.
TEST(Csv, ClassNamesAreMappedToClasses) {
  const fs::path p = write("w,h,animal\n1,2,dog\n3,4,cat\n5,6,dog\n7,8,bird\n");
  CsvInfo info;
  const Dataset d = read_csv(p.string(), {}, &info);
  EXPECT_EQ(info.classes, (std::vector<std::string>{"bird", "cat", "dog"}));
  EXPECT_EQ(d.labels.to_vector(), (std::vector<double>{2, 1, 2, 0}));
  EXPECT_EQ(d.num_classes, 3);
  CsvOptions known;
  known.classes = {"cat", "dog", "bird", "fish"};  // the training data's: this file lacks fish
  const Dataset t = read_csv(p.string(), known);
  EXPECT_EQ(t.labels.to_vector(), (std::vector<double>{1, 0, 1, 2}));
  EXPECT_EQ(t.num_classes, 4);
  known.classes = {"cat", "dog"};
  try {
    read_csv(p.string(), known);
    ADD_FAILURE() << "read a class the training data do not have";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(":5:5: label 'bird' is not one of the training data's classes (cat, dog)"),
              std::string::npos)
        << e.what();
  }
  fs::remove(p);
  EXPECT_NE(error_of("a,y\n1,cat\n2,\n").find(":3:3: label '' is empty (a missing value"), std::string::npos)
      << error_of("a,y\n1,cat\n2,\n");
}

// The label by name or index; features chosen or ignored by name; a real number in the label
// column says how to choose the label column or ask for regression.
TEST(Csv, ColumnsByNameOrIndex) {
  EXPECT_NE(error_of("price,rooms,area,city\n23.42,3,70.5,1\n11.5,2,40,0.5\n").find(
                ":3:11: label '0.5' is not a class (a class label is a non-negative integer or a name; the label is the "
                "last column unless [data] says label = \"NAME\""),
            std::string::npos)
      << error_of("price,rooms,area,city\n23.42,3,70.5,1\n11.5,2,40,0.5\n");
  const fs::path p = write("price,rooms,area,city\n23.42,3,70.5,1\n11.5,2,40,0\n");
  CsvOptions o;
  o.label = CsvColumn::named("city");
  o.features = {CsvColumn::named("area"), CsvColumn::at(1)};
  CsvInfo info;
  Dataset d = read_csv(p.string(), o, &info);
  EXPECT_EQ(info.feature_names, (std::vector<std::string>{"area", "rooms"}));
  EXPECT_EQ(d.features.to_vector(), (std::vector<double>{70.5, 3, 40, 2}));
  EXPECT_EQ(d.labels.to_vector(), (std::vector<double>{1, 0}));
  CsvOptions r;  // regression: the price from the rest, the city ignored
  r.target_columns = {CsvColumn::named("price")};
  r.ignore = {CsvColumn::at(-1)};
  d = read_csv(p.string(), r, &info);
  EXPECT_EQ(info.feature_names, (std::vector<std::string>{"rooms", "area"}));
  EXPECT_EQ(info.target_names, (std::vector<std::string>{"price"}));
  EXPECT_EQ(d.array("y").to_vector(), (std::vector<double>{23.42f, 11.5}));
  EXPECT_FALSE(d.labels.defined());
  auto error = [&](const CsvOptions& bad) -> std::string {
    try {
      read_csv(p.string(), bad);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  CsvOptions typo;
  typo.label = CsvColumn::named("cty");
  EXPECT_NE(error(typo).find("label = 'cty': there is no such column (did you mean 'city'?); the columns: price, rooms, "
                             "area, city"),
            std::string::npos)
      << error(typo);
  CsvOptions both = o;
  both.features = {CsvColumn::named("city")};
  EXPECT_NE(error(both).find("column 3 ('city') is the label and cannot also be a feature"), std::string::npos) << error(both);
  CsvOptions far;
  far.label = CsvColumn::at(4);
  EXPECT_NE(error(far).find("label = 4: there is no such column: the file has 4 columns (0 to 3, or -1 for the last)"),
            std::string::npos)
      << error(far);
  fs::remove(p);
}

// A header whose names are numbers (pandas' default column names 0, 1, ...) is still a header when
// another name is a word over numbers; header = true or false decides when detection cannot.
TEST(Csv, HeaderDetectionAndOverride) {
  const fs::path p = write("0,1,label\n0.5,1,1\n2,3,0\n");
  CsvInfo info;
  const Dataset d = read_csv(p.string(), {}, &info);
  EXPECT_TRUE(info.header);
  EXPECT_EQ(d.size(), 2);
  fs::remove(p);
  const fs::path q = write("0.5,1,cat\n2,3,dog\n");
  CsvOptions o;
  EXPECT_EQ(read_csv(q.string(), o, &info).size(), 2);
  EXPECT_FALSE(info.header);
  o.header = true;
  EXPECT_EQ(read_csv(q.string(), o, &info).size(), 1);
  o.label = CsvColumn::named("x");
  o.header = false;
  try {
    read_csv(q.string(), o);
    ADD_FAILURE() << "a name chose a column of a file without a header";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label = 'x' names a column, but the file's first row is data"), std::string::npos)
        << e.what();
  }
  fs::remove(q);
}

// pandas writes its index as an unnamed first column: read as a feature, it is a warning that says
// how to drop it; a column that counts the rows is one too, whatever its name.
TEST(Csv, AnIndexColumnIsAWarning) {
  const fs::path p = write(",a,b,y\n0,0.5,1,0\n1,2,3,1\n2,4,5,0\n");
  CsvInfo info;
  read_csv(p.string(), {}, &info);
  ASSERT_EQ(info.warnings.size(), 1u);
  EXPECT_NE(info.warnings[0].find("column 0 counts 0, 1, 2, ... like a row index (pandas writes its index unless "
                                  "to_csv(index=False)): it is read as a feature; [data] ignore = [0] drops it"),
            std::string::npos)
      << info.warnings[0];
  CsvOptions o;
  o.ignore = {CsvColumn::at(0)};
  const Dataset d = read_csv(p.string(), o, &info);
  EXPECT_TRUE(info.warnings.empty());
  EXPECT_EQ(d.features.shape(), (Shape{3, 2}));
  fs::remove(p);
  const fs::path q = write("Unnamed: 0,a,y\n7,0.5,0\n3,2,1\n9,4,0\n");  // shuffled rows keep their index
  read_csv(q.string(), {}, &info);
  ASSERT_EQ(info.warnings.size(), 1u);
  EXPECT_NE(info.warnings[0].find("column 0 ('Unnamed: 0') holds integers and no name like a row index"),
            std::string::npos)
      << info.warnings[0];
  fs::remove(q);
}

}  // namespace
}  // namespace symgrad
