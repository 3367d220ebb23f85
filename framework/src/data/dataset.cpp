#include "symgrad/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
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

// Rows of t at `index` (an undefined tensor stays undefined).
Tensor take(const Tensor& t, const std::vector<std::int64_t>& index) {
  if (!t.defined()) return t;
  Tensor out(t.dtype(), with_rows(t.shape(), static_cast<std::int64_t>(index.size())));
  const std::size_t row = t.nbytes() / static_cast<std::size_t>(t.shape()[0]);
  auto* dst = static_cast<std::byte*>(out.raw());
  const auto* src = static_cast<const std::byte*>(t.raw());
  for (std::size_t i = 0; i < index.size(); ++i) {
    std::memcpy(dst + i * row, src + static_cast<std::size_t>(index[i]) * row, row);
  }
  return out;
}

// The rows of a and then of b, of one type but the first dimension.
Tensor stack(const Tensor& a, const Tensor& b, const std::string& what) {
  if (!a.defined() && !b.defined()) return a;
  const auto& da = a.shape().dims();
  const auto& db = b.shape().dims();
  if (!a.defined() || !b.defined() || a.dtype() != b.dtype() || !std::equal(da.begin() + 1, da.end(), db.begin() + 1, db.end())) {
    throw UsageError(fmt::format("cannot join data sets whose {} are {} and {}", what,
                                 a.defined() ? a.type().to_string() : "missing", b.defined() ? b.type().to_string() : "missing"));
  }
  std::vector<std::int64_t> dims(da.begin(), da.end());
  dims[0] = a.shape()[0] + b.shape()[0];
  Tensor out(a.dtype(), Shape(dims));
  std::memcpy(out.raw(), a.raw(), a.nbytes());
  std::memcpy(static_cast<std::byte*>(out.raw()) + a.nbytes(), b.raw(), b.nbytes());
  return out;
}

}  // namespace

void require_regular_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw Error(fmt::format("cannot open '{}': no such file", path));
  if (!fs::is_regular_file(status)) {
    throw Error(fmt::format("'{}' is not a regular file ({}); a data file is read whole", path,
                            fs::is_directory(status) ? "a folder" : fs::is_fifo(status) ? "a FIFO" : "a device or socket"));
  }
}

void require_finite(const Dataset& d) {
  for (const auto& [name, t] : d.named()) {
    if (t.dtype() != DType::f32 && t.dtype() != DType::f64) continue;
    const std::int64_t per = t.shape().rank() == 0 || t.shape()[0] == 0 ? 1 : t.numel() / t.shape()[0];
    for (std::int64_t i = 0; i < t.numel(); ++i) {
      const double v = t.dtype() == DType::f32 ? static_cast<double>(t.data<float>()[i]) : t.data<double>()[i];
      if (!std::isfinite(v)) {
        throw Error(fmt::format("data '{}': array '{}' holds {} at row {} (element {} of it); a data set holds finite "
                                "numbers only",
                                d.name, name, v, i / per, i % per));
      }
    }
  }
}

std::map<std::string, Tensor> Dataset::named() const {
  std::map<std::string, Tensor> all = arrays;
  all["x"] = features;
  if (labels.defined()) all["y"] = labels;
  return all;
}

const Tensor& Dataset::array(const std::string& name) const {
  if (name == "x" && features.defined()) return features;
  if (name == "y" && labels.defined()) return labels;
  if (const auto at = arrays.find(name); at != arrays.end()) return at->second;
  std::string names;
  for (const auto& [n, t] : named()) names += (names.empty() ? "" : ", ") + n;
  throw UsageError(fmt::format("data set '{}' has no array '{}'; it has: {}", this->name, name, names));
}

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
  Dataset out{name, take(features, index), take(labels, index), num_classes, {}};
  for (const auto& [n, t] : arrays) out.arrays[n] = take(t, index);
  return out;
}

Dataset join(const Dataset& a, const Dataset& b) {
  if (a.size() == 0) return b;
  if (b.size() == 0) return a;
  Dataset out{a.name, stack(a.features, b.features, "examples"), stack(a.labels, b.labels, "labels"),
              std::max(a.num_classes, b.num_classes), {}};
  for (const auto& [n, t] : a.arrays) {
    const auto other = b.arrays.find(n);
    out.arrays[n] = stack(t, other == b.arrays.end() ? Tensor() : other->second, "'" + n + "' arrays");
  }
  for (const auto& [n, t] : b.arrays) {
    if (!a.arrays.count(n)) stack(Tensor(), t, "'" + n + "' arrays");  // (throws: only one has it)
  }
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
