#include "symgrad/train/data_preparation.hpp"

#include <cmath>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "symgrad/core/error.hpp"

namespace symgrad {

namespace {

template <class T>
void normalize(Tensor& x, const std::vector<double>& shift, const std::vector<double>& scale) {
  T* p = x.data<T>();
  const auto per = shift.size();
  for (std::int64_t i = 0; i < x.numel(); ++i) {
    const auto j = static_cast<std::size_t>(i) % per;
    p[i] = static_cast<T>((static_cast<double>(p[i]) - shift[j]) / scale[j]);
  }
}

std::size_t example_size(const Dataset& d) {
  const std::int64_t n = d.size();
  return n > 0 ? static_cast<std::size_t>(d.features.numel() / n) : 0;
}

}  // namespace

void DataPreparation::fit(const Dataset& train, const std::string& method) {
  normalize = method;
  shift.clear();
  scale.clear();
  if (method == "none") return;
  if (method != "standard" && method != "minmax") {
    throw UsageError(fmt::format("normalize = '{}': none, standard or minmax", method));
  }
  const std::size_t per = example_size(train);
  const auto n = static_cast<std::size_t>(train.size());
  if (n == 0 || per == 0) throw UsageError(fmt::format("normalize = '{}': the training data '{}' are empty", method, train.name));
  const Tensor x = train.features.to(DType::f64);
  const double* v = x.data<double>();
  shift.assign(per, 0.0);
  scale.assign(per, 0.0);
  for (std::size_t j = 0; j < per; ++j) {
    double a = v[j], b = v[j], sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const double e = v[i * per + j];
      a = std::min(a, e), b = std::max(b, e), sum += e;
    }
    const double mean = sum / static_cast<double>(n);
    double squares = 0;
    for (std::size_t i = 0; i < n; ++i) squares += (v[i * per + j] - mean) * (v[i * per + j] - mean);
    shift[j] = method == "standard" ? mean : a;
    scale[j] = method == "standard" ? std::sqrt(squares / static_cast<double>(n)) : b - a;
    if (!(scale[j] > 0)) scale[j] = 1;  // a constant feature: 0 after the shift
  }
}

void DataPreparation::apply(Dataset& d) const {
  if (normalize == "none" || d.size() == 0) return;
  if (example_size(d) != shift.size()) {
    throw UsageError(fmt::format("the data '{}' have {} features an example; the normalization ({}) was fitted on {}",
                                 d.name, example_size(d), normalize, shift.size()));
  }
  Tensor x = d.features.clone();  // (the arrays of a data set may share their storage with another's)
  if (x.dtype() == DType::f64) {
    symgrad::normalize<double>(x, shift, scale);
  } else if (x.dtype() == DType::f32) {
    symgrad::normalize<float>(x, shift, scale);
  } else {
    x = x.to(DType::f32);
    symgrad::normalize<float>(x, shift, scale);
  }
  d.features = x;
}

std::string DataPreparation::to_toml() const {
  toml::table t;
  auto strings = [](const std::vector<std::string>& v) {
    toml::array a;
    for (const auto& s : v) a.push_back(s);
    return a;
  };
  auto numbers = [](const std::vector<double>& v) {
    toml::array a;
    for (const double x : v) a.push_back(x);
    return a;
  };
  if (!features.empty()) t.insert("features", strings(features));
  if (!classes.empty()) t.insert("classes", strings(classes));
  t.insert("normalize", normalize);
  if (normalize != "none") {
    t.insert("shift", numbers(shift));
    t.insert("scale", numbers(scale));
  }
  std::ostringstream out;
  out << "# How symgrad train prepared this run's data; symgrad predict prepares new examples alike.\n"
         "# features: the CSV columns read as features; classes: class k's name; normalize: x' = (x - shift) / "
         "scale\n\n"
      << t << "\n";
  return out.str();
}

DataPreparation DataPreparation::read(const std::string& file) {
  toml::table t;
  try {
    t = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    throw Error(fmt::format("{}:{}: {}", file, e.source().begin.line, e.description()));
  }
  DataPreparation p;
  auto strings = [&](const char* key, std::vector<std::string>& out) {
    if (const toml::array* a = t[key].as_array()) {
      for (const auto& e : *a) {
        if (!e.is_string()) throw Error(fmt::format("{}: '{}' holds names (strings)", file, key));
        out.push_back(e.as_string()->get());
      }
    }
  };
  auto numbers = [&](const char* key, std::vector<double>& out) {
    if (const toml::array* a = t[key].as_array()) {
      for (const auto& e : *a) {
        const auto v = e.value<double>();
        if (!v || !std::isfinite(*v)) throw Error(fmt::format("{}: '{}' holds finite numbers", file, key));
        out.push_back(*v);
      }
    }
  };
  strings("features", p.features);
  strings("classes", p.classes);
  p.normalize = t["normalize"].value_or(std::string("none"));
  numbers("shift", p.shift);
  numbers("scale", p.scale);
  const bool scaled = p.normalize == "standard" || p.normalize == "minmax";
  if ((p.normalize != "none" && !scaled) || (scaled && (p.shift.empty() || p.shift.size() != p.scale.size()))) {
    throw Error(fmt::format("{}: not a data preparation of symgrad (normalize, shift and scale do not agree)", file));
  }
  for (const double s : p.scale) {
    if (!(s > 0)) throw Error(fmt::format("{}: a scale of 0 or less", file));
  }
  return p;
}

}  // namespace symgrad
