#pragma once
/// @file
/// A labelled data set in memory: features [N, ...] (f32) and integer class labels [N] (i32).

#include <cstdint>
#include <string>
#include <utility>

#include "symgrad/core/tensor.hpp"

namespace symgrad {

struct Dataset {
  std::string name;
  Tensor features;  ///< [N, ...], f32
  Tensor labels;    ///< [N], i32: classes 0..num_classes-1
  std::int64_t num_classes = 0;

  std::int64_t size() const { return features.defined() ? features.shape()[0] : 0; }
  /// Rows [begin, begin + count) as a new data set (copies).
  Dataset rows(std::int64_t begin, std::int64_t count) const;
  /// The rows at `index` in that order (copies): a shuffled minibatch.
  Dataset gather(const std::vector<std::int64_t>& index) const;
};

/// A seeded shuffle, then the last `fraction` of the rows held out: (train, validation). The
/// same seed gives the same split.
/// The rows of `a` then those of `b` (copies); same example shape and dtype (UsageError otherwise).
Dataset join(const Dataset& a, const Dataset& b);

std::pair<Dataset, Dataset> split_validation(const Dataset& data, double fraction, std::uint64_t seed);

}  // namespace symgrad
