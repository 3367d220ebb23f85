#include "metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "symgrad/io/atomic_file.hpp"

namespace symgrad::trainer_detail {

void Score::add(const Tensor& output, const Tensor& target) {
  const std::int64_t b = output.shape()[0];
  if (task_ == Task::classification) {  // argmax of each row against the class; the class among the top 5
    const std::int64_t c = output.numel() / std::max<std::int64_t>(b, 1);
    for (std::int64_t i = 0; i < b; ++i) {
      std::int64_t best = 0;
      const auto label = static_cast<std::int64_t>(target.get(i));
      std::int64_t above = 0;  // classes scored above the label's
      for (std::int64_t j = 0; j < c; ++j) {
        if (j > 0 && output.get(i * c + j) > output.get(i * c + best)) best = j;
        above += output.get(i * c + j) > output.get(i * c + label);
      }
      sums_[0] += best == label;
      sums_[2] += above < 5;
    }
    sums_[1] += static_cast<double>(b);
    sums_[3] = std::max(sums_[3], static_cast<double>(c));
  } else if (task_ == Task::multilabel) {  // a logit > 0 says 1; a target > 0.5 is 1
    for (std::int64_t i = 0; i < output.numel(); ++i) sums_[0] += (output.get(i) > 0) == (target.get(i) > 0.5);
    sums_[1] += static_cast<double>(output.numel());
  } else {
    for (std::int64_t i = 0; i < output.numel(); ++i) {
      const double t = target.get(i), d = output.get(i) - t;
      sums_[0] += d * d, sums_[1] += std::abs(d), sums_[2] += t, sums_[3] += t * t;
    }
    sums_[4] += static_cast<double>(output.numel());
  }
}

double Score::primary() const {
  const auto m = metrics();
  return m.at(primary_name());
}

std::map<std::string, double> Score::metrics() const {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (task_ == Task::multilabel) return {{"accuracy", sums_[1] > 0 ? sums_[0] / sums_[1] : nan}};
  if (task_ == Task::classification) {
    std::map<std::string, double> m = {{"accuracy", sums_[1] > 0 ? sums_[0] / sums_[1] : nan}};
    if (sums_[3] > 5) m["top5"] = sums_[1] > 0 ? sums_[2] / sums_[1] : nan;  // (with 5 classes or fewer, always 1)
    return m;
  }
  const double n = sums_[4];
  if (n == 0) return {{"rmse", nan}, {"mae", nan}, {"r2", nan}};
  // R^2 = 1 - SSE / SST, SST the targets' squared deviations from their mean (over every element)
  const double sst = sums_[3] - sums_[2] * sums_[2] / n;
  return {{"rmse", std::sqrt(sums_[0] / n)}, {"mae", sums_[1] / n}, {"r2", sst > 0 ? 1 - sums_[0] / sst : nan}};
}

namespace {

// The lines of `file` (none when it does not exist).
std::vector<std::string> lines_of(const std::string& file) {
  std::vector<std::string> lines;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Writes `lines` over `file` atomically.
void rewrite(const std::string& file, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  write_file_atomically(file, text);
}

// The number after "key": in a JSON line, or NaN.
double json_number(const std::string& line, const std::string& key) {
  const std::string k = "\"" + key + "\": ";
  const auto at = line.find(k);
  return at == std::string::npos ? std::nan("") : std::strtod(line.c_str() + at + k.size(), nullptr);
}

// Drops the rows of `base`.csv and .jsonl whose `column` is above `last`.
void keep_until(const std::string& base, const std::string& column, double last) {
  const std::string csv = base + ".csv", jsonl = base + ".jsonl";
  std::vector<std::string> rows = lines_of(csv);
  if (!rows.empty()) {
    std::size_t index = 0, i = 0;
    std::stringstream header(rows.front());
    bool found = false;
    for (std::string name; std::getline(header, name, ','); ++i) {
      if (name == column) index = i, found = true;
    }
    if (found) {
      std::vector<std::string> kept = {rows.front()};
      for (std::size_t r = 1; r < rows.size(); ++r) {
        std::stringstream row(rows[r]);
        std::string cell;
        for (std::size_t c = 0; c <= index && std::getline(row, cell, ','); ++c) {
        }
        if (std::strtod(cell.c_str(), nullptr) <= last) kept.push_back(rows[r]);
      }
      if (kept.size() != rows.size()) rewrite(csv, kept);
    }
  }
  std::vector<std::string> lines = lines_of(jsonl), kept;
  for (const auto& l : lines) {
    if (!(json_number(l, column) > last)) kept.push_back(l);
  }
  if (kept.size() != lines.size()) rewrite(jsonl, kept);
}

}  // namespace

void MetricsFile::open(const std::filesystem::path& base, bool append, const std::string& column, double last) {
  base_ = base.string();
  const std::string csv = base_ + ".csv";
  if (append) keep_until(base_, column, last);
  columns_.clear();
  last_row_.clear();
  if (append) {
    const std::vector<std::string> rows = lines_of(csv);
    std::stringstream header(rows.empty() ? std::string() : rows.front());
    for (std::string name; std::getline(header, name, ',');) columns_.push_back(name);
    std::stringstream cells(rows.size() > 1 ? rows.back() : std::string());
    for (std::string cell; std::getline(cells, cell, ',');) last_row_.push_back(cell);
  }
  const auto mode = append ? std::ios::app : std::ios::trunc;
  csv_.open(csv, std::ios::out | mode);
  jsonl_.open(base_ + ".jsonl", std::ios::out | mode);
  if (!csv_ || !jsonl_) throw Error(fmt::format("cannot write metrics at '{}'", base_));
}

double MetricsFile::kept(const std::string& column) const {
  const auto at = std::find(columns_.begin(), columns_.end(), column);
  const auto i = static_cast<std::size_t>(at - columns_.begin());
  if (at == columns_.end() || i >= last_row_.size() || last_row_[i].empty()) return 0;
  return std::strtod(last_row_[i].c_str(), nullptr);
}

void MetricsFile::write(const std::vector<std::pair<std::string, double>>& row) {
  if (!csv_.is_open()) return;
  const bool header = !columns_.empty();
  std::size_t added = 0;
  for (const auto& [name, value] : row) {
    if (std::find(columns_.begin(), columns_.end(), name) == columns_.end()) columns_.push_back(name), ++added;
  }
  if (!header) {
    for (std::size_t i = 0; i < columns_.size(); ++i) csv_ << (i ? "," : "") << columns_[i];
    csv_ << "\n";
  } else if (added > 0) {  // a new column: the header gains it, the rows so far an empty cell
    csv_.close();
    std::vector<std::string> lines = lines_of(base_ + ".csv");
    std::string names;
    for (std::size_t i = 0; i < columns_.size(); ++i) names += (i ? "," : "") + columns_[i];
    if (lines.empty()) lines.push_back(names);
    lines.front() = names;
    for (std::size_t r = 1; r < lines.size(); ++r) lines[r] += std::string(added, ',');
    rewrite(base_ + ".csv", lines);
    csv_.open(base_ + ".csv", std::ios::out | std::ios::app);
  }
  std::map<std::string, std::string> cells;
  std::string json = "{";
  for (std::size_t i = 0; i < row.size(); ++i) {
    const std::string v = std::isfinite(row[i].second) ? fmt::format("{:.17g}", row[i].second) : "null";
    cells[row[i].first] = std::isfinite(row[i].second) ? v : "nan";
    json += fmt::format("{}\"{}\": {}", i ? ", " : "", row[i].first, v);
  }
  for (std::size_t i = 0; i < columns_.size(); ++i) {
    const auto cell = cells.find(columns_[i]);
    csv_ << (i ? "," : "") << (cell == cells.end() ? "" : cell->second);
  }
  csv_ << "\n";
  jsonl_ << json << "}\n";
  csv_.flush();
  jsonl_.flush();
  if (!csv_ || !jsonl_) throw Error(fmt::format("cannot write the metrics '{}.csv' / '.jsonl' (is the disk full?)", base_));
}

}  // namespace symgrad::trainer_detail
