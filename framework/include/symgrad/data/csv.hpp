#pragma once
/// @file
/// CSV data sets: numeric feature columns and one integer label column, or (regression) real
/// target columns.

#include <string>

#include "symgrad/data/dataset.hpp"

namespace symgrad {

struct CsvOptions {
  /// The label column: its index, negative from the end (-1: the last column).
  int label_column = -1;
  /// A first line that does not parse as numbers is taken as a header.
  char separator = ',';
  /// Regression: the last `targets` columns are real targets, the array "y" [N, targets] (f32),
  /// and there is no label column (0: one integer label column, label_column).
  int targets = 0;
  /// Every column is a feature, no label nor target (data to predict, symgrad predict).
  bool features_only = false;
};

/// Features [N, columns - 1] (f32) and labels [N] (i32, non-negative integers); or, with targets,
/// features [N, columns - targets] and the array "y". Errors name the file, the line and the
/// column.
Dataset read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace symgrad
