#include "symgrad/data/dataset.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/random.hpp"

namespace symgrad {

namespace {

Shape with_rows(const Shape& s, std::int64_t rows) {
  std::vector<std::int64_t> d(s.dims().begin(), s.dims().end());
  d[0] = rows;
  return Shape(d);
}

// Rows of t at `index`.
Tensor take(const Tensor& t, const std::vector<std::int64_t>& index) {
  Tensor out(t.dtype(), with_rows(t.shape(), static_cast<std::int64_t>(index.size())));
  const std::size_t row = t.nbytes() / static_cast<std::size_t>(t.shape()[0]);
  auto* dst = static_cast<std::byte*>(out.raw());
  const auto* src = static_cast<const std::byte*>(t.raw());
  for (std::size_t i = 0; i < index.size(); ++i) {
    std::memcpy(dst + i * row, src + static_cast<std::size_t>(index[i]) * row, row);
  }
  return out;
}

}  // namespace

Dataset Dataset::rows(std::int64_t begin, std::int64_t count) const {
  if (begin < 0 || count < 0 || begin + count > size()) {
    throw UsageError(fmt::format("data set '{}' has {} rows; asked for [{}, {})", name, size(), begin, begin + count));
  }
  std::vector<std::int64_t> index(static_cast<std::size_t>(count));
  std::iota(index.begin(), index.end(), begin);
  return gather(index);
}

Dataset Dataset::gather(const std::vector<std::int64_t>& index) const {
  for (auto i : index) {
    if (i < 0 || i >= size()) throw UsageError(fmt::format("data set '{}' has {} rows; row {} asked for", name, size(), i));
  }
  return {name, take(features, index), take(labels, index), num_classes};
}

Dataset join(const Dataset& a, const Dataset& b) {
  if (a.size() == 0) return b;
  if (b.size() == 0) return a;
  const auto& da = a.features.shape().dims();
  const auto& db = b.features.shape().dims();
  if (a.features.dtype() != b.features.dtype() || !std::equal(da.begin() + 1, da.end(), db.begin() + 1, db.end())) {
    throw UsageError(fmt::format("cannot join data sets of examples {} and {}", a.features.type().to_string(),
                                 b.features.type().to_string()));
  }
  std::vector<std::int64_t> dims(da.begin(), da.end());
  dims[0] = a.size() + b.size();
  Dataset out{a.name, Tensor(a.features.dtype(), Shape(dims)), Tensor(DType::i32, Shape{dims[0]}),
              std::max(a.num_classes, b.num_classes)};
  std::memcpy(out.features.raw(), a.features.raw(), a.features.nbytes());
  std::memcpy(static_cast<std::byte*>(out.features.raw()) + a.features.nbytes(), b.features.raw(), b.features.nbytes());
  std::memcpy(out.labels.raw(), a.labels.raw(), a.labels.nbytes());
  std::memcpy(static_cast<std::byte*>(out.labels.raw()) + a.labels.nbytes(), b.labels.raw(), b.labels.nbytes());
  return out;
}

std::pair<Dataset, Dataset> split_validation(const Dataset& data, double fraction, std::uint64_t seed) {
  if (!(fraction > 0 && fraction < 1)) {
    throw UsageError(fmt::format("the validation fraction must be in (0, 1), got {}", fraction));
  }
  const std::int64_t n = data.size();
  const auto held = static_cast<std::int64_t>(std::round(fraction * static_cast<double>(n)));
  if (held < 1 || held >= n) {
    throw UsageError(fmt::format("a validation fraction of {} leaves no rows on one side of {} rows", fraction, n));
  }
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Random rng(seed);
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);  // Fisher-Yates
  const std::vector<std::int64_t> train(order.begin(), order.end() - held), val(order.end() - held, order.end());
  Dataset a = data.gather(train), b = data.gather(val);
  a.name = data.name + "/train";
  b.name = data.name + "/validation";
  return {a, b};
}

}  // namespace symgrad
