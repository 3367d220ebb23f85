#pragma once
/// @file
/// A data set in memory: named arrays of N rows each. `features` [N, ...] (f32) is fed as "x" and,
/// when present, integer class labels [N] (i32) as "y"; `arrays` holds any others by name (real
/// targets of a regression, a second label column, a second input). A model takes its inputs and
/// its losses' targets from them by name (train/model.hpp).

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "symgrad/core/tensor.hpp"

namespace symgrad {

struct Dataset {
  std::string name;
  Tensor features;  ///< [N, ...], f32
  Tensor labels;    ///< [N], i32: classes 0..num_classes-1 (undefined: no labels)
  std::int64_t num_classes = 0;
  std::map<std::string, Tensor> arrays;  ///< more named arrays [N, ...]

  std::int64_t size() const { return features.defined() ? features.shape()[0] : 0; }
  /// Every array by the name it is fed by: "x" (features), "y" (labels, when defined), then arrays.
  std::map<std::string, Tensor> named() const;
  /// The array fed as `name`; UsageError naming the data set and the names it has when there is none.
  const Tensor& array(const std::string& name) const;
  /// Rows [begin, begin + count) as a new data set (copies).
  Dataset rows(std::int64_t begin, std::int64_t count) const;
  /// The rows at `index` in that order (copies): a shuffled minibatch.
  Dataset gather(const std::vector<std::int64_t>& index) const;
};

/// Throws Error naming `path` unless it is a regular file: a missing file, a folder, a FIFO (whose
/// reading would wait for a writer forever) or a device is refused before it is opened.
void require_regular_file(const std::string& path);

/// Throws Error naming the data set, the array, the row and the value when a floating array of `d`
/// holds a NaN or an infinity (a value beyond the float range read as f32 becomes one).
void require_finite(const Dataset& d);

/// A seeded shuffle, then the last `fraction` of the rows held out: (train, validation). The
/// same seed gives the same split.
/// The rows of `a` then those of `b` (copies); same example shape and dtype (UsageError otherwise).
Dataset join(const Dataset& a, const Dataset& b);

std::pair<Dataset, Dataset> split_validation(const Dataset& data, double fraction, std::uint64_t seed);

}  // namespace symgrad
