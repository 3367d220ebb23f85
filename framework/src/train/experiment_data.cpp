// An experiment's [data] table, and the data it names: training, validation and test sets of named
// arrays (docs/experiments.md).
#include <algorithm>
#include <cmath>
#include <filesystem>

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

// A column by name ("species") or index (0 the first, -1 the last).
CsvColumn column_of(const std::string& path, const toml::node& n, const char* key) {
  if (const auto name = n.value_exact<std::string>()) {
    if (name->empty()) throw UsageError(fmt::format("{}: '{}' names an empty column name", where(path, n), key));
    return CsvColumn::named(*name);
  }
  if (n.is_integer() && std::abs(n.as_integer()->get()) < 1000000) return CsvColumn::at(static_cast<int>(n.as_integer()->get()));
  throw UsageError(fmt::format("{}: '{}' in [data] is a column's name (\"price\") or index (0 the first, -1 the last)",
                               where(path, n), key));
}

// A list of columns; a single one is taken as a list of one.
std::vector<CsvColumn> columns_of(const std::string& path, const toml::node& n, const char* key) {
  std::vector<CsvColumn> out;
  if (const toml::array* a = n.as_array()) {
    for (const auto& e : *a) out.push_back(column_of(path, e, key));
    if (out.empty()) throw UsageError(fmt::format("{}: '{}' in [data] lists no column", where(path, n), key));
  } else {
    out.push_back(column_of(path, n, key));
  }
  return out;
}

// The CSV keys of [data]: header, separator, label, targets (a count or columns), features, ignore.
void read_csv_columns(const std::string& path, const toml::table& d, const Reader& r, DataSpec& s) {
  bool header = false;
  if (d.get("header") != nullptr) r.get("header", header, "true or false (absent: detected)"), s.header = header;
  if (const toml::node* n = d.get("separator")) {
    std::string sep;
    r.get("separator", sep, "a string (\",\", \";\", \"\\t\" ...)");
    if (sep == "tab") sep = "\t";
    if (sep.size() != 1 || sep == "\"" || sep == "\n" || sep == "\r") {
      throw UsageError(fmt::format("{}: separator '{}' is one character (\",\", \";\", \"\\t\" or \"tab\", \"|\"...), not a "
                                   "quote or a line break; absent: detected",
                                   where(path, *n), sep));
    }
    s.separator = sep[0];
  }
  if (const toml::node* n = d.get("label")) s.label = column_of(path, *n, "label");
  if (const toml::node* n = d.get("targets"); n != nullptr && !n->is_integer()) {
    s.target_columns = columns_of(path, *n, "targets");
  } else {
    r.get("targets", s.targets, "a count of last columns, or a list of columns");
    r.positive("targets", s.targets, 0);
  }
  if (const toml::node* n = d.get("features")) s.features = columns_of(path, *n, "features");
  if (const toml::node* n = d.get("ignore")) s.ignore = columns_of(path, *n, "ignore");
  if (s.label && (s.targets > 0 || !s.target_columns.empty())) {
    throw UsageError(fmt::format("{}: [data] has a label (classes) and targets (real values): give one", where(path, *d.get("label"))));
  }
  if (!s.features.empty() && !s.ignore.empty()) {
    throw UsageError(fmt::format("{}: [data] lists the features and the ignored columns: give one", where(path, *d.get("ignore"))));
  }
}

}  // namespace

bool resolve_data_paths(toml::table& root, const std::filesystem::path& base) {
  toml::table* d = root["data"].as_table();
  bool any = false;
  for (const char* key : {"dir", "images", "labels", "test_images", "test_labels", "train_csv", "test_csv", "train_npz",
                          "test_npz", "train_x", "train_y", "test_x", "test_y"}) {
    toml::value<std::string>* v = d != nullptr ? d->get_as<std::string>(key) : nullptr;
    if (v == nullptr || v->get().empty() || std::filesystem::path(v->get()).is_absolute()) continue;
    *v = (std::filesystem::absolute(base) / v->get()).lexically_normal().string();  // (keeps where it was written)
    any = true;
  }
  return any;
}

DataSpec read_data_spec(const std::string& path, const toml::table& d) {
  const Reader r(path, d, "data", path);
  r.only({"set", "n", "noise", "factor", "classes", "validation", "limit", "dir", "images", "labels", "test_images",
          "test_labels", "train_csv", "test_csv", "targets", "train_npz", "test_npz", "train_x", "train_y", "test_x",
          "test_y", "outliers", "relabel", "header", "separator", "label", "features", "ignore", "test", "normalize"});
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
  read_csv_columns(path, d, r, s);
  r.get("test", s.test, "a number (the fraction of the training file held out as test data)");
  if (!(s.test >= 0 && s.test < 1)) {
    throw UsageError(fmt::format("{}: 'test' = {} is out of range: allowed [0, 1)", where(path, *d.get("test")), s.test));
  }
  r.get("normalize", s.normalize, "a string (none, standard or minmax)");
  if (s.normalize != "none" && s.normalize != "standard" && s.normalize != "minmax") {
    throw UsageError(fmt::format("{}: normalize '{}': none, standard (mean 0, variance 1) or minmax (into [0, 1])",
                                 where(path, *d.get("normalize")), s.normalize));
  }
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

namespace {

// A CSV file of the experiment, with the columns [data] chooses; `classes`: the training file's
// class names (reading its test file).
Dataset read_csv_file(const DataSpec& s, const std::string& file, const std::vector<std::string>& classes, CsvInfo& info) {
  CsvOptions o;
  o.header = s.header;
  o.separator = s.separator;
  o.label = s.label;
  o.targets = static_cast<int>(s.targets);
  o.target_columns = s.target_columns;
  o.features = s.features;
  o.ignore = s.ignore;
  o.classes = classes;
  return read_csv(file, o, &info);
}

// "a, b, c" of at most 8 names as a start line shows them: a long one cut, a control character (a
// terminal's escape sequence in a cell) as '?', an empty one as "?".
std::string some(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 8; ++i) {
    std::string name = names[i].empty() ? "?" : names[i].size() > 40 ? names[i].substr(0, 37) + "..." : names[i];
    for (char& c : name) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    out += fmt::format("{}{}", i == 0 ? "" : ", ", name);
  }
  return names.size() > 8 ? out + fmt::format(", ... ({} in all)", names.size()) : out;
}

// The training file and the test file of [data] (the test data empty when [data] holds out a
// fraction instead), and what a CSV file held.
std::pair<Dataset, Dataset> read_files(const Experiment& e, ExperimentData& d) {
  const DataSpec& s = e.data;
  if (s.set == "fashion-mnist") return {load_fashion_mnist("train", s.dir), load_fashion_mnist("test", s.dir)};
  if (s.set == "idx") {
    return {load_mnist_format(s.images, s.labels, "idx"),
            s.test_images.empty() ? Dataset{} : load_mnist_format(s.test_images, s.test_labels, "idx/test")};
  }
  if (s.set == "npz") {
    return {dataset_from_arrays(s.train_npz, read_npz(s.train_npz)),
            s.test_npz.empty() ? Dataset{} : dataset_from_arrays(s.test_npz, read_npz(s.test_npz))};
  }
  if (s.set == "npy") {
    auto pair = [](const std::string& x, const std::string& y) {
      if (x.empty()) return Dataset{};
      std::map<std::string, Tensor> arrays = {{"x", read_npy(x)}};
      if (!y.empty()) arrays["y"] = read_npy(y);
      return dataset_from_arrays(x, arrays);
    };
    return {pair(s.train_x, s.train_y), pair(s.test_x, s.test_y)};
  }
  // csv
  CsvInfo info;
  Dataset train = read_csv_file(s, s.train_csv, {}, info);
  d.preparation.classes = info.classes;
  if (std::none_of(info.feature_names.begin(), info.feature_names.end(), [](const std::string& n) { return n.empty(); })) {
    d.preparation.features = info.feature_names;
  }
  d.warnings = info.warnings;
  const std::string label = info.label_name.empty() ? "" : " '" + info.label_name + "'";
  d.summary.push_back(fmt::format(
      "{}: {} rows of {} feature{} ({}); {}; split by {}{}", s.train_csv, train.size(), info.feature_names.size(),
      info.feature_names.size() == 1 ? "" : "s", some(info.feature_names),
      info.target_names.empty() ? fmt::format("label{}: {} classes{}", label, train.num_classes,
                                              info.classes.empty() ? "" : " (" + some(info.classes) + ")")
                                : fmt::format("targets: {}", some(info.target_names)),
      info.separator == '\t' ? "tabs" : fmt::format("'{}'", info.separator), info.header ? ", a header row" : ", no header row"));
  Dataset test;
  if (!s.test_csv.empty()) {
    CsvInfo test_info;
    test = read_csv_file(s, s.test_csv, info.classes, test_info);
    d.warnings.insert(d.warnings.end(), test_info.warnings.begin(), test_info.warnings.end());
  }
  return {std::move(train), std::move(test)};
}

// Synthetic sets draw their training and test data from the seed.
std::pair<Dataset, Dataset> draw(const Experiment& e) {
  const DataSpec& s = e.data;
  if (s.set == "regression") {  // the test set without outliers: its RMSE is the distance to f (and the noise)
    return {make_regression(s.n, s.noise, s.outliers, derive_seed(e.seed, "data/train")),
            make_regression(s.n, s.noise, 0.0, derive_seed(e.seed, "data/test"))};
  }
  auto make = [&](std::uint64_t seed) {
    if (s.set == "moons") return make_moons(s.n, s.noise, seed);
    if (s.set == "circles") return make_circles(s.n, s.noise, s.factor, seed);
    if (s.set == "spirals") return make_spirals(s.n, static_cast<int>(s.classes), s.noise, seed);
    if (s.set == "blobs") return make_blobs(s.n, static_cast<int>(s.classes), s.noise, seed);
    return make_xor(s.n, s.noise, seed);
  };
  return {make(derive_seed(e.seed, "data/train")), make(derive_seed(e.seed, "data/test"))};
}

// "f32[2]": the type of one example (row) of `t`.
std::string example_type(const Tensor& t) {
  const auto& dims = t.shape().dims();
  return TensorType{t.dtype(), Shape(std::vector<std::int64_t>(dims.begin() + (dims.empty() ? 0 : 1), dims.end()))}.to_string();
}

// The key of [data] that names the set's test file ("" for a set that has its own test data).
std::string test_file_key(const std::string& set) {
  if (set == "csv") return "test_csv";
  if (set == "npz") return "test_npz";
  if (set == "npy") return "test_x";
  if (set == "idx") return "test_images";
  return "";
}

}  // namespace

ExperimentData load_experiment_data(const Experiment& e) {
  const DataSpec& s = e.data;
  ExperimentData d;
  const std::string test_key = test_file_key(s.set);
  if (s.test > 0 && test_key.empty()) {
    throw UsageError(fmt::format("{}: [data] test = {}: the set '{}' has its own test data (test holds out a fraction "
                                 "of a training file without one)",
                                 e.file, s.test, s.set));
  }
  const bool drawn = test_key.empty() && s.set != "fashion-mnist";
  auto [all, test] = drawn ? draw(e) : read_files(e, d);
  if (!test_key.empty() && test.size() == 0 && s.test == 0) {
    throw UsageError(fmt::format("{}: [data] gives no test data: {} = \"FILE\", or test = 0.2 to hold out that "
                                 "fraction of the training file",
                                 e.file, test_key));
  }
  if (!test_key.empty() && test.size() > 0 && s.test > 0) {
    throw UsageError(fmt::format("{}: [data] gives a test file ({}) and test = {} (a fraction of the training file "
                                 "held out as test data): give one",
                                 e.file, test_key, s.test));
  }
  if (s.test > 0) {  // held out before the validation data, with its own seed
    const auto held = static_cast<std::int64_t>(std::round(s.test * static_cast<double>(all.size())));
    if (held < 1 || held >= all.size()) {
      throw UsageError(fmt::format("{}: [data] test = {} holds out {} of the {} rows of '{}': none would be {}", e.file,
                                   s.test, held, all.size(), all.name, held < 1 ? "test data" : "left to train on"));
    }
    auto [rest, part] = split_validation(all, s.test, derive_seed(e.seed, "data/test"));
    all = std::move(rest);
    test = std::move(part);
    test.name = all.name.substr(0, all.name.size() - std::string("/train").size()) + "/test";
  }
  require_finite(all);  // (a NaN would become a NaN loss in the middle of training)
  require_finite(test);
  check_same_kind(all, test);
  for (const auto& [name, map] : s.relabel) {
    relabel(all, name, map);
    relabel(test, name, map);
  }
  if (s.validation == 0) {  // no held-out data: train on all of it
    d.train = std::move(all);
  } else {
    auto [train, val] = split_validation(all, s.validation, derive_seed(e.seed, "data/validation"));
    d.train = std::move(train);
    d.validation = std::move(val);
  }
  if (s.limit > 0 && s.limit < d.train.size()) d.train = d.train.rows(0, s.limit);  // a small training set
  d.test = std::move(test);
  d.preparation.fit(d.train, s.normalize);  // the training split's statistics only
  for (Dataset* x : {&d.train, &d.validation, &d.test}) d.preparation.apply(*x);
  const Dataset& any = d.train;
  std::vector<std::int64_t> dims(any.features.shape().dims().begin() + 1, any.features.shape().dims().end());
  d.example = {e.backend == "onednn" ? DType::f32 : DType::f64, Shape(dims)};
  d.num_classes = std::max(any.num_classes, d.test.num_classes);
  if (d.summary.empty()) {  // (a CSV file's line names its columns)
    d.summary.push_back(fmt::format("{}: examples of {}{}", s.set, example_type(any.features),
                                    any.labels.defined()    ? fmt::format(", {} classes", d.num_classes)
                                    : any.arrays.count("y") ? fmt::format(", targets {}", example_type(any.arrays.at("y")))
                                                            : std::string()));
  }
  return d;
}

}  // namespace symgrad
