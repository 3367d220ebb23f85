#include "symgrad/data/csv.hpp"

#include <cerrno>
#include <cmath>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

namespace symgrad {

namespace {

struct Cell {
  std::string text;
  std::size_t column;  // 1-based character column of its start
};

std::vector<Cell> split(const std::string& line, char sep) {
  std::vector<Cell> cells;
  std::size_t start = 0;
  for (;;) {
    const auto end = line.find(sep, start);
    std::string t = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const auto a = t.find_first_not_of(" \t\r"), b = t.find_last_not_of(" \t\r");
    cells.push_back({a == std::string::npos ? "" : t.substr(a, b - a + 1), start + 1});
    if (end == std::string::npos) return cells;
    start = end + 1;
  }
}

// A cell as a message shows it: a long one cut (a 50 MB cell is not echoed whole).
std::string shown(const std::string& text) {
  return text.size() > 40 ? text.substr(0, 37) + "..." : text;
}

bool number(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtod(s.c_str(), &end);
  return *end == '\0' && errno == 0 && std::isfinite(v);
}

}  // namespace

Dataset read_csv(const std::string& path, const CsvOptions& options) {
  require_regular_file(path);
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("cannot open '{}'", path));
  std::vector<float> features, targets;
  std::vector<std::int32_t> labels;
  std::size_t columns = 0, label = 0, rows = 0;
  const auto regression = static_cast<std::size_t>(std::max(options.targets, 0));
  const bool unlabelled = options.features_only;
  std::string line;
  for (std::size_t lineno = 1; std::getline(in, line); ++lineno) {
    if (lineno == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte-order mark
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank
    const auto cells = split(line, options.separator);
    if (columns == 0) {
      columns = cells.size();
      if (columns < (unlabelled ? 1 : 2 + (regression > 0 ? regression - 1 : 0))) {
        throw Error(fmt::format("{}:{}: a row needs features and {}, found {} column{}", path, lineno,
                                regression > 0 ? fmt::format("{} target columns", regression) : "a label", columns,
                                columns == 1 ? "" : "s"));
      }
      const int lc = options.label_column < 0 ? static_cast<int>(columns) + options.label_column : options.label_column;
      if (lc < 0 || lc >= static_cast<int>(columns)) {
        throw Error(fmt::format("{}: label column {} does not exist in {} columns", path, options.label_column, columns));
      }
      label = static_cast<std::size_t>(lc);
      double v;
      // a header has no number in it: a first row with a number and a typo is data, reported below
      bool header = true;
      for (const auto& c : cells) header = header && !number(c.text, v);
      if (header) continue;
    }
    if (cells.size() != columns) {
      throw Error(fmt::format("{}:{}: {} columns, the first row has {}", path, lineno, cells.size(), columns));
    }
    for (std::size_t c = 0; c < columns; ++c) {
      double v;
      if (!number(cells[c].text, v)) {
        throw Error(fmt::format("{}:{}:{}: '{}' is not a number", path, lineno, cells[c].column, shown(cells[c].text)));
      }
      if (regression > 0 && c >= columns - regression) {
        targets.push_back(static_cast<float>(v));
      } else if (regression == 0 && !unlabelled && c == label) {
        if (v < 0 || v != std::floor(v) || v > 1e6) {
          throw Error(fmt::format("{}:{}:{}: label '{}' is not a class (a non-negative integer)", path, lineno,
                                  cells[c].column, shown(cells[c].text)));
        }
        labels.push_back(static_cast<std::int32_t>(v));
      } else {
        features.push_back(static_cast<float>(v));
      }
    }
    ++rows;
  }
  if (rows == 0) throw Error(fmt::format("'{}' has no data rows", path));
  if (regression > 0 || unlabelled) {
    const auto n = static_cast<std::int64_t>(rows), k = static_cast<std::int64_t>(regression);
    Dataset d{path, Tensor(DType::f32, Shape{n, static_cast<std::int64_t>(columns) - k}), Tensor(), 0, {}};
    std::copy(features.begin(), features.end(), d.features.data<float>());
    if (k > 0) {
      Tensor y(DType::f32, Shape{n, k});
      std::copy(targets.begin(), targets.end(), y.data<float>());
      d.arrays["y"] = y;
    }
    return d;
  }
  const auto n = static_cast<std::int64_t>(labels.size()), f = static_cast<std::int64_t>(columns - 1);
  Dataset d{path, Tensor(DType::f32, Shape{n, f}), Tensor(DType::i32, Shape{n}), 0, {}};
  std::copy(features.begin(), features.end(), d.features.data<float>());
  std::copy(labels.begin(), labels.end(), d.labels.data<std::int32_t>());
  for (auto l : labels) d.num_classes = std::max<std::int64_t>(d.num_classes, l + 1);
  return d;
}

}  // namespace symgrad
