// An experiment's [data] table, and the data it names: training, validation and test sets of named
// arrays (docs/experiments.md).
#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "experiment_reader.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/core/random.hpp"
#include "symgrad/data/csv.hpp"
#include "symgrad/data/idx.hpp"
#include "symgrad/data/npy.hpp"
#include "symgrad/data/synthetic.hpp"

namespace symgrad {

namespace experiment_detail {

namespace {

// [data.relabel]: NAME = [c0, c1, ...] tables of non-negative integers.
std::map<std::string, std::vector<std::int32_t>> read_relabel(const std::string& path, const toml::node& n) {
  const toml::table* t = n.as_table();
  if (t == nullptr) throw UsageError(fmt::format("{}: [data.relabel] holds NAME = [class of label 0, of label 1, ...]", where(path, n)));
  std::map<std::string, std::vector<std::int32_t>> out;
  for (const auto& [key, value] : *t) {
    const toml::array* a = value.as_array();
    std::vector<std::int32_t> map;
    for (std::size_t i = 0; a != nullptr && i < a->size(); ++i) {
      const toml::node* c = a->get(i);
      if (!c->is_integer() || c->as_integer()->get() < 0 || c->as_integer()->get() > 1000000) break;
      map.push_back(static_cast<std::int32_t>(c->as_integer()->get()));
    }
    if (a == nullptr || map.size() != a->size() || map.empty()) {
      throw UsageError(fmt::format("{}: relabel '{}' must be a list of classes (non-negative integers), one for each label",
                                   where(path, value), std::string(key.str())));
    }
    out[std::string(key.str())] = map;
  }
  return out;
}

}  // namespace

DataSpec read_data_spec(const std::string& path, const toml::table& d) {
  const Reader r(path, d, "data", path);
  r.only({"set", "n", "noise", "factor", "classes", "validation", "limit", "dir", "images", "labels", "test_images",
          "test_labels", "train_csv", "test_csv", "targets", "train_npz", "test_npz", "train_x", "train_y", "test_x",
          "test_y", "outliers", "relabel"});
  DataSpec s;
  r.get("set", s.set, "a string");
  r.get("n", s.n, "an integer");
  r.positive("n", s.n, 2);
  r.get("noise", s.noise, "a number");
  r.get("factor", s.factor, "a number");
  r.get("classes", s.classes, "an integer");
  r.get("validation", s.validation, "a number");
  r.get("limit", s.limit, "an integer");
  r.positive("limit", s.limit, 0);
  if (!(s.validation >= 0 && s.validation < 1)) {
    throw UsageError(fmt::format("{}: 'validation' = {} is out of range: allowed [0, 1)", where(path, *d.get("validation")),
                                 s.validation));
  }
  r.get("dir", s.dir, "a string");
  r.get("images", s.images, "a string");
  r.get("labels", s.labels, "a string");
  r.get("test_images", s.test_images, "a string");
  r.get("test_labels", s.test_labels, "a string");
  r.get("train_csv", s.train_csv, "a string");
  r.get("test_csv", s.test_csv, "a string");
  r.get("targets", s.targets, "an integer");
  r.positive("targets", s.targets, 0);
  r.get("train_npz", s.train_npz, "a string");
  r.get("test_npz", s.test_npz, "a string");
  r.get("train_x", s.train_x, "a string");
  r.get("train_y", s.train_y, "a string");
  r.get("test_x", s.test_x, "a string");
  r.get("test_y", s.test_y, "a string");
  r.get("outliers", s.outliers, "a number");
  if (!(s.outliers >= 0 && s.outliers <= 1)) {
    throw UsageError(fmt::format("{}: 'outliers' = {} is out of range: allowed [0, 1]", where(path, *d.get("outliers")),
                                 s.outliers));
  }
  if (const toml::node* n = d.get("relabel")) s.relabel = read_relabel(path, *n);
  const std::vector<std::string> sets = {"fashion-mnist", "idx", "csv", "npz", "npy", "moons", "circles",
                                         "spirals", "blobs", "xor", "regression"};
  if (std::find(sets.begin(), sets.end(), s.set) == sets.end()) {
    throw UsageError(fmt::format("{}: unknown data set '{}'{}", where(path, *d.get("set")), s.set, did_you_mean(s.set, sets)));
  }
  return s;
}

}  // namespace experiment_detail

namespace {

// The integer array `name` of `d`: map[label] for each example.
void relabel(Dataset& d, const std::string& name, const std::vector<std::int32_t>& map) {
  if (!d.labels.defined()) throw UsageError(fmt::format("data '{}' has no labels to relabel as '{}'", d.name, name));
  Tensor t(DType::i32, Shape{d.size()});
  for (std::int64_t i = 0; i < d.size(); ++i) {
    const std::int32_t y = d.labels.data<std::int32_t>()[i];
    if (y < 0 || static_cast<std::size_t>(y) >= map.size()) {
      throw UsageError(fmt::format("data '{}': example {} has label {}, which relabel '{}' does not map (it maps labels 0 "
                                   "to {})",
                                   d.name, i, y, name, map.size() - 1));
    }
    t.data<std::int32_t>()[i] = map[static_cast<std::size_t>(y)];
  }
  d.arrays[name] = t;
}

// The test data hold examples of the training data's kind: each array both have (the features "x",
// the targets) has the same element type and per-example shape. Checked before training, naming
// both files (else evaluation would fail at the end of the run, naming neither).
void check_same_kind(const Dataset& train, const Dataset& test) {
  const auto a = train.named(), b = test.named();
  for (const auto& [name, t] : a) {
    const auto it = b.find(name);
    if (it == b.end() || !t.defined() || !it->second.defined()) continue;
    const auto& x = t.shape().dims();
    const auto& y = it->second.shape().dims();
    if (t.dtype() != it->second.dtype() || !std::equal(x.begin() + 1, x.end(), y.begin() + 1, y.end())) {
      throw UsageError(fmt::format("the test data '{}' do not fit the training data '{}': their array '{}' holds {} "
                                   "examples of {}[{}], the training data's {}[{}]",
                                   test.name, train.name, name, y.empty() ? 0 : y[0], to_string(it->second.dtype()),
                                   fmt::join(y.begin() + (y.empty() ? 0 : 1), y.end(), ", "), to_string(t.dtype()),
                                   fmt::join(x.begin() + (x.empty() ? 0 : 1), x.end(), ", ")));
    }
  }
}

}  // namespace

ExperimentData load_experiment_data(const Experiment& e) {
  const DataSpec& s = e.data;
  Dataset all, test;
  if (s.set == "fashion-mnist") {
    all = load_fashion_mnist("train", s.dir);
    test = load_fashion_mnist("test", s.dir);
  } else if (s.set == "idx") {
    all = load_mnist_format(s.images, s.labels, "idx");
    test = load_mnist_format(s.test_images, s.test_labels, "idx/test");
  } else if (s.set == "csv") {
    CsvOptions o;
    o.targets = static_cast<int>(s.targets);
    all = read_csv(s.train_csv, o);
    test = read_csv(s.test_csv, o);
  } else if (s.set == "npz") {
    all = dataset_from_arrays(s.train_npz, read_npz(s.train_npz));
    test = dataset_from_arrays(s.test_npz, read_npz(s.test_npz));
  } else if (s.set == "npy") {
    auto pair = [](const std::string& x, const std::string& y) {
      std::map<std::string, Tensor> arrays = {{"x", read_npy(x)}};
      if (!y.empty()) arrays["y"] = read_npy(y);
      return dataset_from_arrays(x, arrays);
    };
    all = pair(s.train_x, s.train_y);
    test = pair(s.test_x, s.test_y);
  } else if (s.set == "regression") {  // the test set without outliers: its RMSE is the distance to f (and the noise)
    all = make_regression(s.n, s.noise, s.outliers, derive_seed(e.seed, "data/train"));
    test = make_regression(s.n, s.noise, 0.0, derive_seed(e.seed, "data/test"));
  } else {
    auto make = [&](std::uint64_t seed) {
      if (s.set == "moons") return make_moons(s.n, s.noise, seed);
      if (s.set == "circles") return make_circles(s.n, s.noise, s.factor, seed);
      if (s.set == "spirals") return make_spirals(s.n, static_cast<int>(s.classes), s.noise, seed);
      if (s.set == "blobs") return make_blobs(s.n, static_cast<int>(s.classes), s.noise, seed);
      return make_xor(s.n, s.noise, seed);
    };
    all = make(derive_seed(e.seed, "data/train"));
    test = make(derive_seed(e.seed, "data/test"));
  }
  require_finite(all);  // (a NaN would become a NaN loss in the middle of training)
  require_finite(test);
  check_same_kind(all, test);
  for (const auto& [name, map] : s.relabel) {
    relabel(all, name, map);
    relabel(test, name, map);
  }
  ExperimentData d;
  if (s.validation == 0) {  // no held-out data: train on all of it
    d.train = std::move(all);
  } else {
    auto [train, val] = split_validation(all, s.validation, derive_seed(e.seed, "data/validation"));
    d.train = std::move(train);
    d.validation = std::move(val);
  }
  if (s.limit > 0 && s.limit < d.train.size()) d.train = d.train.rows(0, s.limit);  // a small training set
  d.test = std::move(test);
  const Dataset& any = d.train;
  std::vector<std::int64_t> dims(any.features.shape().dims().begin() + 1, any.features.shape().dims().end());
  d.example = {e.backend == "onednn" ? DType::f32 : DType::f64, Shape(dims)};
  d.num_classes = std::max(any.num_classes, d.test.num_classes);
  return d;
}

}  // namespace symgrad
