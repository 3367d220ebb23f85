#pragma once
/// @file
/// CSV data sets (RFC 4180: quoted fields, CRLF, a UTF-8 byte-order mark): numeric feature
/// columns and a class label column (integers, or names such as "cat" mapped to classes), or real
/// target columns (regression). Columns are chosen by header name or by index; the separator and
/// the header row are detected unless given. docs/experiments.md, "Your own CSV file".

#include <optional>
#include <string>
#include <vector>

#include "symgrad/data/dataset.hpp"

namespace symgrad {

/// A column chosen by its header name, or by its index (0 the first; negative from the end, -1
/// the last).
struct CsvColumn {
  std::string name;  ///< by name when not empty
  int index = -1;

  static CsvColumn named(std::string n) { return {std::move(n), 0}; }
  static CsvColumn at(int i) { return {"", i}; }
};

struct CsvOptions {
  /// The first row names the columns (absent: detected: it does when a column holds a word there
  /// and numbers below, or when it holds no number at all).
  std::optional<bool> header;
  /// 0: detected from the first rows (',', ';', a tab or '|', whichever splits them into the same
  /// number of columns, the most).
  char separator = 0;
  /// The class labels' column (absent: the last column). Labels are non-negative integers, or names
  /// mapped to classes 0, 1, ... in sorted order (or in the order of `classes`).
  std::optional<CsvColumn> label;
  /// Regression: the last `targets` columns, or the `target_columns`, are real targets: the array
  /// "y" [N, targets] (f32), and there is no label column.
  int targets = 0;
  std::vector<CsvColumn> target_columns;
  /// The feature columns, in this order (empty: every column that is not the label, a target or
  /// ignored).
  std::vector<CsvColumn> features;
  std::vector<CsvColumn> ignore;  ///< columns not read
  /// Every column (not ignored) is a feature: no label nor target (data to predict).
  bool features_only = false;
  /// The class names, class k the k-th (the training data's, when reading its test data): a label
  /// that is none of them is an error. Empty: integer labels, or the names the file holds.
  std::vector<std::string> classes;
};

/// What reading a CSV file found, for the start of a run and the run folder.
struct CsvInfo {
  char separator = ',';
  bool header = false;
  std::vector<std::string> columns;  ///< the header's names ("" each without a header)
  std::vector<std::string> feature_names, target_names;
  std::string label_name;
  /// String labels: class k's name (empty: integer labels).
  std::vector<std::string> classes;
  /// A column that counts the rows (a pandas index written with the data) read as a feature.
  std::vector<std::string> warnings;
};

/// Features [N, F] (f32) and labels [N] (i32); or, with targets, the array "y" [N, T] (f32).
/// Errors name the file, the line and the column, and say how to choose other columns.
Dataset read_csv(const std::string& path, const CsvOptions& options = {}, CsvInfo* info = nullptr);

/// The separator, whether the first row is a header, and the columns' names, of a CSV file (its
/// separator and header found as read_csv finds them).
CsvInfo read_csv_header(const std::string& path, const CsvOptions& options = {});

}  // namespace symgrad
