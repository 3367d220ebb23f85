// An experiment's [data] from files as people have them: the CSV keys, a test fraction, data paths
// relative to the experiment file, and the features' normalization with the training split's
// statistics (docs/experiments.md, "Your own CSV file").

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/train/experiment.hpp"

namespace symgrad {
namespace {

namespace fs = std::filesystem;

// A pandas export: its index first, ';' between fields, the class name first, 50 rows.
void write_pets(const fs::path& file) {
  std::ofstream out(file);
  out << ";animal;weight;height\n";
  for (int i = 0; i < 50; ++i) {
    const bool cat = i % 2 == 0;
    out << i << ";" << (cat ? "cat" : "dog") << ";" << (cat ? 4 : 20) + i % 5 << ";" << (cat ? 25 : 60) + i % 7 << "\n";
  }
}

std::string experiment(const std::string& data) {
  return "name = \"pets\"\nseed = 3\n[data]\nset = \"csv\"\n" + data + "[model]\nlayers = [{ type = \"dense\", units = 2 }]\n";
}

fs::path write(const testing::TempDir& dir, const std::string& name, const std::string& text) {
  fs::create_directories((dir.path / name).parent_path());
  std::ofstream(dir.path / name) << text;
  return dir.path / name;
}

std::string error_of(const testing::TempDir& dir, const std::string& data) {
  try {
    load_experiment_data(load_experiment(write(dir, "bad.toml", experiment(data)).string()));
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

// Paths in the file resolve against its folder (not the current one), and the run's copy of the
// experiment holds them absolute, saying where they resolved.
TEST(ExperimentData, PathsAreRelativeToTheExperimentFile) {
  testing::TempDir dir;
  write_pets(dir.path / "data" / "pets.csv");
  const fs::path file = write(dir, "exps/pets.toml", experiment("train_csv = \"../data/pets.csv\"\nlabel = \"animal\"\n"
                                                               "test = 0.2\nvalidation = 0\n"));
  const Experiment x = load_experiment(file.string());
  EXPECT_EQ(x.data.train_csv, (dir.path / "data" / "pets.csv").string());
  EXPECT_NE(x.effective.find("# (its data paths resolved against " + (dir.path / "exps").string() + ")"), std::string::npos)
      << x.effective;
  EXPECT_NE(x.effective.find("train_csv = '" + (dir.path / "data" / "pets.csv").string() + "'"), std::string::npos)
      << x.effective;
  // a --set path is the user's, typed in the current folder
  const Experiment y = load_experiment(file.string(), {"data.train_csv=pets.csv"});
  EXPECT_EQ(y.data.train_csv, (fs::current_path() / "pets.csv").string());
}

// A fraction of the training file is the test data: drawn with the seed, before the validation
// split; the index column is a warning, the class names are kept for predict.
TEST(ExperimentData, ATestFractionAndTheStudentsCsv) {
  testing::TempDir dir;
  write_pets(dir.path / "pets.csv");
  const fs::path file = write(dir, "pets.toml", experiment("train_csv = \"pets.csv\"\nlabel = \"animal\"\ntest = 0.2\n"
                                                          "validation = 0.25\n"));
  const ExperimentData d = load_experiment_data(load_experiment(file.string()));
  EXPECT_EQ(d.test.size(), 10);
  EXPECT_EQ(d.train.size() + d.validation.size(), 40);
  EXPECT_EQ(d.validation.size(), 10);
  EXPECT_EQ(d.train.features.shape()[1], 3);  // the index, the weight, the height
  EXPECT_EQ(d.preparation.classes, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_TRUE(d.preparation.features.empty());  // an unnamed column: predict reads the columns by position
  ASSERT_EQ(d.warnings.size(), 1u);
  EXPECT_NE(d.warnings[0].find("column 0 counts 0, 1, 2, ... like a row index"), std::string::npos) << d.warnings[0];
  ASSERT_EQ(d.summary.size(), 1u);
  EXPECT_NE(d.summary[0].find("pets.csv: 50 rows of 3 features (?, weight, height); label 'animal': 2 classes (cat, "
                              "dog); split by ';', a header row"),
            std::string::npos)
      << d.summary[0];
  // the same seed, the same test rows; test rows are none of the training rows
  const ExperimentData again = load_experiment_data(load_experiment(file.string()));
  EXPECT_EQ(again.test.features.to_vector(), d.test.features.to_vector());
  std::set<double> held;
  for (std::int64_t i = 0; i < d.test.size(); ++i) held.insert(d.test.features.to_vector()[static_cast<std::size_t>(i * 3)]);
  for (std::int64_t i = 0; i < d.train.size(); ++i) {
    EXPECT_EQ(held.count(d.train.features.to_vector()[static_cast<std::size_t>(i * 3)]), 0u);
  }
  const ExperimentData dropped =
      load_experiment_data(load_experiment(file.string(), {"data.ignore=[0]"}));
  EXPECT_TRUE(dropped.warnings.empty());
  EXPECT_EQ(dropped.preparation.features, (std::vector<std::string>{"weight", "height"}));
}

// Standardization with the training split's mean and (population) standard deviation: the
// training features have mean 0 and variance 1, the test features use the same numbers.
TEST(ExperimentData, NormalizeWithTheTrainingSplitsStatistics) {
  testing::TempDir dir;
  write_pets(dir.path / "pets.csv");
  const std::string data = "train_csv = \"pets.csv\"\nlabel = \"animal\"\nfeatures = [\"weight\", \"height\"]\ntest = 0.2\n"
                           "validation = 0\n";
  const fs::path file = write(dir, "pets.toml", experiment(data + "normalize = \"standard\"\n"));
  const ExperimentData raw = load_experiment_data(load_experiment(write(dir, "raw.toml", experiment(data)).string()));
  const ExperimentData d = load_experiment_data(load_experiment(file.string()));
  ASSERT_EQ(d.preparation.shift.size(), 2u);
  for (std::size_t j = 0; j < 2; ++j) {
    double sum = 0, squares = 0;
    const auto v = raw.train.features.to_vector();
    const double n = static_cast<double>(raw.train.size());
    for (std::size_t i = j; i < v.size(); i += 2) sum += v[i];
    for (std::size_t i = j; i < v.size(); i += 2) squares += (v[i] - sum / n) * (v[i] - sum / n);
    EXPECT_NEAR(d.preparation.shift[j], sum / n, 1e-9);
    EXPECT_NEAR(d.preparation.scale[j], std::sqrt(squares / n), 1e-9);
    const auto t = raw.test.features.to_vector(), u = d.test.features.to_vector();
    for (std::size_t i = j; i < t.size(); i += 2) {
      EXPECT_NEAR(u[i], (t[i] - sum / n) / std::sqrt(squares / n), 1e-5);
    }
  }
  // minmax: the training features span [0, 1] exactly
  const ExperimentData m = load_experiment_data(load_experiment(file.string(), {"data.normalize=\"minmax\""}));
  const auto v = m.train.features.to_vector();
  EXPECT_EQ(*std::min_element(v.begin(), v.end()), 0.0);
  EXPECT_EQ(*std::max_element(v.begin(), v.end()), 1.0);
  // saved and read back as predict reads it
  const fs::path saved = dir.path / "data.toml";
  std::ofstream(saved) << d.preparation.to_toml();
  const DataPreparation back = DataPreparation::read(saved.string());
  EXPECT_EQ(back.shift, d.preparation.shift);
  EXPECT_EQ(back.scale, d.preparation.scale);
  EXPECT_EQ(back.classes, d.preparation.classes);
  EXPECT_EQ(back.features, (std::vector<std::string>{"weight", "height"}));
}

// What a [data] table without test data, or with two kinds of them, is told.
TEST(ExperimentData, MistakesSayTheRule) {
  testing::TempDir dir;
  write_pets(dir.path / "pets.csv");
  EXPECT_NE(error_of(dir, "train_csv = \"pets.csv\"\nlabel = \"animal\"\n")
                .find("[data] gives no test data: test_csv = \"FILE\", or test = 0.2 to hold out that fraction"),
            std::string::npos)
      << error_of(dir, "train_csv = \"pets.csv\"\nlabel = \"animal\"\n");
  EXPECT_NE(error_of(dir, "train_csv = \"pets.csv\"\ntest_csv = \"pets.csv\"\nlabel = \"animal\"\ntest = 0.1\n")
                .find("gives a test file (test_csv) and test = 0.1"),
            std::string::npos);
  // the label first, not named: its names are read as a feature, and the message says how to choose
  EXPECT_NE(error_of(dir, "train_csv = \"pets.csv\"\ntest = 0.2\n")
                .find("pets.csv:2:3: 'cat' is not a number (column 1 ('animal') is read as a feature: [data] label = "
                      "\"animal\" makes it the label, ignore = [\"animal\"] drops it)"),
            std::string::npos)
      << error_of(dir, "train_csv = \"pets.csv\"\ntest = 0.2\n");
  EXPECT_NE(error_of(dir, "train_csv = \"pets.csv\"\nlabel = \"animal\"\ntest = 0.001\n")
                .find("[data] test = 0.001 holds out 0 of the 50 rows of '" + (dir.path / "pets.csv").string() +
                      "': none would be test data"),
            std::string::npos)
      << error_of(dir, "train_csv = \"pets.csv\"\nlabel = \"animal\"\ntest = 0.001\n");
  EXPECT_NE(error_of(dir, "train_csv = \"pets.csv\"\ntest = 0.2\nlabel = \"animal\"\ntargets = [\"height\"]\n")
                .find("[data] has a label (classes) and targets (real values): give one"),
            std::string::npos);
  EXPECT_NE(error_of(dir, "train_csv = \"pets.csv\"\ntest = 0.2\nlabel = 1.5\n")
                .find("'label' in [data] is a column's name (\"price\") or index"),
            std::string::npos);
  EXPECT_NE(error_of(dir, "train_csv = \"pets.csv\"\ntest = 0.2\nlabel = \"animal\"\nseparator = \"::\"\n")
                .find("separator '::' is one character"),
            std::string::npos);
  EXPECT_NE(error_of(dir, "train_csv = \"pets.csv\"\ntest = 0.2\nlabel = \"animal\"\nnormalize = \"z\"\n")
                .find("normalize 'z': none, standard (mean 0, variance 1) or minmax"),
            std::string::npos);
  try {
    const std::string moons = "[data]\nset = \"moons\"\ntest = 0.2\n[model]\nlayers = [{ type = \"dense\", units = 2 }]\n";
    load_experiment_data(load_experiment(write(dir, "moons.toml", moons).string()));
    ADD_FAILURE() << "held out test data of a set that draws its own";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("the set 'moons' has its own test data"), std::string::npos) << e.what();
  }
}

// A class name from a cell reaches the start line cut and without control characters (a
// terminal's escape sequence in a file is not replayed on the terminal).
TEST(ExperimentData, TheStartLineShowsCellsSafely) {
  testing::TempDir dir;
  const std::string long_name(60, 'n');
  std::ofstream(dir.path / "odd.csv") << "a,y\n1,\"\x1b[31mred\"\n2," << long_name << "\n3,\"\x1b[31mred\"\n4," << long_name
                                      << "\n";
  const fs::path file = write(dir, "odd.toml", experiment("train_csv = \"odd.csv\"\ntest = 0.5\nvalidation = 0\n"));
  const ExperimentData d = load_experiment_data(load_experiment(file.string()));
  ASSERT_EQ(d.summary.size(), 1u);
  EXPECT_NE(d.summary[0].find("2 classes (?[31mred, " + std::string(37, 'n') + "...)"), std::string::npos) << d.summary[0];
  EXPECT_EQ(d.summary[0].find('\x1b'), std::string::npos);
}

// Regression from named columns: the targets by name, the rest features.
TEST(ExperimentData, TargetsByName) {
  testing::TempDir dir;
  write_pets(dir.path / "pets.csv");
  const fs::path file = write(dir, "pets.toml", experiment("train_csv = \"pets.csv\"\ntargets = [\"height\"]\n"
                                                          "ignore = [0, \"animal\"]\ntest = 0.2\nvalidation = 0\n"));
  const ExperimentData d = load_experiment_data(load_experiment(file.string()));
  EXPECT_EQ(d.train.features.shape()[1], 1);
  EXPECT_EQ(d.train.array("y").shape()[1], 1);
  EXPECT_FALSE(d.train.labels.defined());
  EXPECT_EQ(d.preparation.features, (std::vector<std::string>{"weight"}));
}

}  // namespace
}  // namespace symgrad
