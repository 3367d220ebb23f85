#pragma once
/// @file
/// How an experiment's data were prepared, saved in the run folder as data.toml so that
/// `symgrad predict` prepares new examples alike: the CSV columns read as features, the names of
/// the classes, and the features' normalization (statistics of the training split only).

#include <string>
#include <vector>

#include "symgrad/data/dataset.hpp"

namespace symgrad {

struct DataPreparation {
  /// A CSV file's feature columns by their header names, in order (empty: by position).
  std::vector<std::string> features;
  /// Class k's name (empty: the classes are the labels' integers).
  std::vector<std::string> classes;
  /// none | standard | minmax; per element of an example, x' = (x - shift) / scale.
  std::string normalize = "none";
  std::vector<double> shift, scale;

  /// The statistics of `train`'s features for `method` (standard: the mean and the standard
  /// deviation over the examples, as scikit-learn's StandardScaler; minmax: the minimum and the
  /// range). A constant feature gets scale 1 (it becomes 0). UsageError for another method.
  void fit(const Dataset& train, const std::string& method);
  /// Normalizes `d`'s features in place (no-op for none); UsageError when their example size is
  /// not the fitted one.
  void apply(Dataset& d) const;
  bool empty() const { return features.empty() && classes.empty() && normalize == "none"; }

  /// data.toml's text, and the preparation it holds (Error naming `file` when it is not one).
  std::string to_toml() const;
  static DataPreparation read(const std::string& file);
};

}  // namespace symgrad
