#include "symgrad/data/csv.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "symgrad/core/error.hpp"
#include "symgrad/core/names.hpp"

namespace symgrad {

namespace {

struct Cell {
  std::string text;
  std::size_t line, column;  // where it starts: 1-based line and character column
};

struct Record {
  std::vector<Cell> cells;
  std::size_t line() const { return cells.front().line; }
};

// The records of RFC 4180 text: fields split by `sep`, records by LF or CRLF; a field in double
// quotes may hold the separator, line breaks and "" (a quote). Spaces around a field are dropped;
// blank lines are skipped.
class Records {
 public:
  Records(const std::string& path, const std::string& text, char sep) : path_(path), text_(text), sep_(sep) {}

  bool next(Record& r) {
    for (;;) {
      if (pos_ >= text_.size()) return false;
      r.cells.clear();
      for (bool more = true; more;) more = field(r);
      if (r.cells.size() > 1 || !r.cells.front().text.empty() || quoted_) return true;
    }
  }

 private:
  bool blank(char c) const { return c == ' ' || c == '\r' || (c == '\t' && sep_ != '\t'); }

  // One field into `r`; true when another field of the record follows.
  bool field(Record& r) {
    while (pos_ < text_.size() && blank(text_[pos_]) && text_[pos_] != '\r') ++pos_;
    Cell c{"", line_, pos_ - line_start_ + 1};
    quoted_ = pos_ < text_.size() && text_[pos_] == '"';
    if (quoted_) {
      quoted(c);
    } else {
      const std::size_t start = pos_;
      while (pos_ < text_.size() && text_[pos_] != sep_ && text_[pos_] != '\n') ++pos_;
      std::size_t end = pos_;
      while (end > start && blank(text_[end - 1])) --end;
      c.text = text_.substr(start, end - start);
    }
    r.cells.push_back(std::move(c));
    if (pos_ < text_.size() && text_[pos_] == sep_) return ++pos_, true;
    if (pos_ < text_.size()) ++pos_, ++line_, line_start_ = pos_;  // (the '\n')
    return false;
  }

  void quoted(Cell& c) {
    for (++pos_;;) {
      const std::size_t q = text_.find('"', pos_);
      if (q == std::string::npos) {
        throw Error(fmt::format("{}:{}:{}: a quoted field is not closed (a '\"' opens it here and none ends it)", path_,
                                c.line, c.column));
      }
      for (std::size_t i = pos_; i < q; ++i) {
        if (text_[i] == '\n') ++line_, line_start_ = i + 1;
      }
      c.text += text_.substr(pos_, q - pos_);
      pos_ = q + 1;
      if (pos_ < text_.size() && text_[pos_] == '"') {
        c.text += '"';
        ++pos_;
        continue;
      }
      break;
    }
    while (pos_ < text_.size() && blank(text_[pos_])) ++pos_;
    if (pos_ < text_.size() && text_[pos_] != sep_ && text_[pos_] != '\n') {
      throw Error(fmt::format("{}:{}:{}: text after a quoted field's closing quote (a quote inside a quoted field is "
                              "written \"\")",
                              path_, line_, pos_ - line_start_ + 1));
    }
  }

  const std::string& path_;
  const std::string& text_;
  char sep_;
  std::size_t pos_ = 0, line_ = 1, line_start_ = 0;
  bool quoted_ = false;
};

// A cell as a message shows it: a long one cut (a 50 MB cell is not echoed whole).
std::string shown(const std::string& text) { return text.size() > 40 ? text.substr(0, 37) + "..." : text; }

bool number(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  v = std::strtod(s.c_str(), &end);
  return *end == '\0' && errno == 0 && std::isfinite(v);
}

bool number(const std::string& s) {
  double v;
  return number(s, v);
}

std::string separator_name(char sep) { return sep == '\t' ? "a tab" : fmt::format("'{}'", sep); }

// The separator that splits the first rows into the same number of columns, the most; ',' when
// none splits them.
char detect_separator(const std::string& path, const std::string& text) {
  char best = ',';
  std::size_t most = 1;
  for (const char sep : {',', ';', '\t', '|'}) {
    try {
      Records records(path, text, sep);
      Record r;
      std::size_t count = 0;
      bool same = true;
      for (int i = 0; i < 20 && records.next(r); ++i) {
        if (i == 0) count = r.cells.size();
        same = same && r.cells.size() == count;
      }
      if (same && count > most) best = sep, most = count;
    } catch (const Error&) {  // (quotes that do not close under this separator's split)
    }
  }
  return best;
}

// The first row is a header when a column holds a word there and numbers in the next rows, or when
// it holds no number at all.
bool detect_header(const std::vector<Record>& rows) {
  const auto& first = rows.front().cells;
  if (std::none_of(first.begin(), first.end(), [](const Cell& c) { return number(c.text); })) return true;
  for (std::size_t c = 0; c < first.size(); ++c) {
    if (number(first[c].text) || rows.size() < 2) continue;
    bool below = true;
    for (std::size_t i = 1; i < std::min<std::size_t>(rows.size(), 21); ++i) {
      below = below && c < rows[i].cells.size() && number(rows[i].cells[c].text);
    }
    if (below) return true;
  }
  return false;
}

// The file's columns and which of them are features, the label and the targets.
struct Layout {
  std::vector<std::string> names;  // "" each without a header
  std::vector<std::size_t> features, targets;
  std::optional<std::size_t> label;

  std::string describe(std::size_t c) const {
    return names[c].empty() ? fmt::format("column {}", c) : fmt::format("column {} ('{}')", c, names[c]);
  }
};

std::size_t resolve(const std::string& path, const Layout& l, const CsvColumn& c, const char* key) {
  const auto n = static_cast<int>(l.names.size());
  if (c.name.empty()) {
    if (c.index >= -n && c.index < n) return static_cast<std::size_t>(c.index < 0 ? n + c.index : c.index);
    throw Error(fmt::format("{}: {} = {}: there is no such column: the file has {} column{} (0 to {}, or -1 for the "
                            "last)",
                            path, key, c.index, n, n == 1 ? "" : "s", n - 1));
  }
  const auto it = std::find(l.names.begin(), l.names.end(), c.name);
  if (it != l.names.end()) return static_cast<std::size_t>(it - l.names.begin());
  if (std::all_of(l.names.begin(), l.names.end(), [](const std::string& s) { return s.empty(); })) {
    throw Error(fmt::format("{}: {} = '{}' names a column, but the file's first row is data, not a header: give the "
                            "column's index (0 the first, -1 the last), or header = true if the first row names them",
                            path, key, c.name));
  }
  throw Error(fmt::format("{}: {} = '{}': there is no such column{}; the columns: {}", path, key, c.name,
                          did_you_mean(c.name, l.names), fmt::join(l.names, ", ")));
}

Layout layout_of(const std::string& path, const Record& first, bool header, const CsvOptions& o, char sep) {
  Layout l;
  for (const auto& c : first.cells) l.names.push_back(header ? c.text : "");
  const std::size_t n = l.names.size();
  std::set<std::size_t> taken;
  for (const auto& c : o.ignore) taken.insert(resolve(path, l, c, "ignore"));
  if (!o.features_only && (o.targets > 0 || !o.target_columns.empty())) {
    for (const auto& c : o.target_columns) l.targets.push_back(resolve(path, l, c, "targets"));
    for (int k = o.targets; k > 0 && static_cast<std::size_t>(k) <= n; --k) l.targets.push_back(n - static_cast<std::size_t>(k));
  } else if (!o.features_only && n > 0) {
    l.label = resolve(path, l, o.label.value_or(CsvColumn::at(-1)), "label");
  }
  std::vector<std::size_t> outputs = l.targets;
  if (l.label) outputs.push_back(*l.label);
  taken.insert(outputs.begin(), outputs.end());
  for (const auto& c : o.features) {
    const std::size_t f = resolve(path, l, c, "features");
    if (std::find(outputs.begin(), outputs.end(), f) != outputs.end()) {
      throw Error(fmt::format("{}: {} is the {} and cannot also be a feature", path, l.describe(f),
                              l.label == f ? "label" : "target"));
    }
    l.features.push_back(f);
  }
  for (std::size_t c = 0; o.features.empty() && c < n; ++c) {
    if (taken.count(c) == 0) l.features.push_back(c);
  }
  if (l.features.empty() || (o.targets > 0 && static_cast<std::size_t>(o.targets) >= n)) {
    const std::size_t k = o.targets > 0 ? static_cast<std::size_t>(o.targets) : o.target_columns.size();
    const std::string needs = o.features_only ? "nothing else"
                              : l.label       ? std::string("a label")
                                              : fmt::format("{} target column{}", k, k == 1 ? "" : "s");
    throw Error(fmt::format("{}:{}: a row needs features and {}, found {} column{} (split by {}; [data] separator = "
                            "\"...\" splits by another)",
                            path, first.line(), needs, n, n == 1 ? "" : "s", separator_name(sep)));
  }
  return l;
}

// The cell (c) of every data row as a number; errors name the line and the column, and for a word
// in a feature column (the label, not chosen) how to choose it.
std::vector<double> numbers(const std::string& path, const std::vector<Record>& rows, std::size_t begin,
                            const Layout& l, std::size_t c, char sep) {
  std::vector<double> out;
  out.reserve(rows.size() - begin);
  for (std::size_t i = begin; i < rows.size(); ++i) {
    const Cell& cell = rows[i].cells[c];
    double v;
    if (!number(cell.text, v)) {
      std::string point = cell.text;
      std::replace(point.begin(), point.end(), ',', '.');
      const bool decimal_comma = sep != ',' && point != cell.text && number(point);
      const std::string column = l.names[c].empty() ? std::to_string(c) : "\"" + l.names[c] + "\"";
      const std::string word =
          fmt::format(" ({} is read as a feature: [data] label = {} makes it the label, ignore = [{}] drops it)",
                      l.describe(c), column, column);
      throw Error(fmt::format("{}:{}:{}: '{}' is not a number{}", path, cell.line, cell.column, shown(cell.text),
                              cell.text.empty() ? " (an empty cell: a missing value; every feature needs one)"
                              : decimal_comma   ? " (a decimal comma: numbers are written with a '.')"
                              : std::find(l.features.begin(), l.features.end(), c) != l.features.end() ? word
                                                                                                       : ""));
    }
    out.push_back(v);
  }
  return out;
}

// The class of each data row's label: integers as they are, or names mapped to classes in sorted
// order (or in the order of `known`).
std::vector<std::int32_t> classes_of(const std::string& path, const std::vector<Record>& rows, std::size_t begin,
                                     std::size_t c, const std::vector<std::string>& known, std::vector<std::string>& names) {
  const std::string rule =
      " (a class label is a non-negative integer or a name; the label is the last column unless [data] says label = "
      "\"NAME\" or an index; real values to predict are targets = [\"NAME\", ...])";
  bool numeric = known.empty();
  for (std::size_t i = begin; i < rows.size() && numeric; ++i) numeric = number(rows[i].cells[c].text);
  std::vector<std::int32_t> out;
  if (numeric) {
    for (std::size_t i = begin; i < rows.size(); ++i) {
      const Cell& cell = rows[i].cells[c];
      double v = 0;
      number(cell.text, v);
      if (v < 0 || v != std::floor(v) || v > 1e6) {
        throw Error(fmt::format("{}:{}:{}: label '{}' is not a class{}", path, cell.line, cell.column, shown(cell.text), rule));
      }
      out.push_back(static_cast<std::int32_t>(v));
    }
    return out;
  }
  names = known;
  if (names.empty()) {
    std::set<std::string> distinct;
    for (std::size_t i = begin; i < rows.size(); ++i) {
      const Cell& cell = rows[i].cells[c];
      if (cell.text.empty()) {
        throw Error(fmt::format("{}:{}:{}: label '' is empty (a missing value: every row needs its label)", path,
                                cell.line, cell.column));
      }
      distinct.insert(cell.text);
    }
    names.assign(distinct.begin(), distinct.end());
    const std::size_t n = rows.size() - begin;
    if (names.size() > 1000 || (n >= 20 && names.size() > n / 2)) {
      throw Error(fmt::format("{}: the label column holds {} different values in {} rows: names of classes repeat{}",
                              path, names.size(), n, rule));
    }
  }
  std::map<std::string, std::int32_t> index;
  for (std::size_t k = 0; k < names.size(); ++k) index[names[k]] = static_cast<std::int32_t>(k);
  for (std::size_t i = begin; i < rows.size(); ++i) {
    const Cell& cell = rows[i].cells[c];
    const auto it = index.find(cell.text);
    if (it == index.end()) {
      throw Error(fmt::format("{}:{}:{}: label '{}' is {}", path, cell.line, cell.column, shown(cell.text),
                              cell.text.empty() ? "empty (a missing value: every row needs its label)"
                                                : fmt::format("not one of the training data's classes ({})",
                                                              fmt::join(names, ", "))));
    }
    out.push_back(it->second);
  }
  return out;
}

// A feature column that counts the rows (0, 1, 2, ... or 1, 2, 3, ...), or an unnamed column of
// integers: most likely the index pandas writes with a data frame.
std::optional<std::string> index_column(const std::string& path, const Layout& l, std::size_t c,
                                        const std::vector<double>& v) {
  if (v.size() < 3) return std::nullopt;
  bool counts = v[0] == 0 || v[0] == 1, integers = true;
  for (std::size_t i = 0; i < v.size(); ++i) {
    counts = counts && v[i] == v[0] + static_cast<double>(i);
    integers = integers && v[i] == std::floor(v[i]);
  }
  const bool unnamed = l.names[c].empty() && !std::all_of(l.names.begin(), l.names.end(), [](const std::string& s) {
                         return s.empty();
                       });
  if (!counts && !(integers && (unnamed || l.names[c].rfind("Unnamed:", 0) == 0))) return std::nullopt;
  return fmt::format("{}: {} {} like a row index (pandas writes its index unless to_csv(index=False)): it is read as a "
                     "feature; [data] ignore = [{}] drops it",
                     path, l.describe(c), counts ? fmt::format("counts {:g}, {:g}, {:g}, ...", v[0], v[1], v[2]) : "holds integers and no name",
                     l.names[c].empty() ? std::to_string(c) : "\"" + l.names[c] + "\"");
}

}  // namespace

namespace {

// The records of the file, split by the separator `options` gives or the detected one, and
// whether the first is a header.
std::vector<Record> read_records(const std::string& path, const CsvOptions& options, char& sep, bool& header) {
  require_regular_file(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open '{}'", path));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // a UTF-8 byte-order mark
  sep = options.separator != 0 ? options.separator : detect_separator(path, text);
  std::vector<Record> rows;
  Records records(path, text, sep);
  for (Record r; records.next(r);) rows.push_back(std::move(r));
  if (rows.empty()) throw Error(fmt::format("'{}' has no data rows", path));
  header = options.header.value_or(detect_header(rows));
  return rows;
}

}  // namespace

CsvInfo read_csv_header(const std::string& path, const CsvOptions& options) {
  CsvInfo info;
  const std::vector<Record> rows = read_records(path, options, info.separator, info.header);
  for (const auto& c : rows.front().cells) info.columns.push_back(info.header ? c.text : "");
  return info;
}

Dataset read_csv(const std::string& path, const CsvOptions& options, CsvInfo* info) {
  char sep = ',';
  bool header = false;
  const std::vector<Record> rows = read_records(path, options, sep, header);
  const std::size_t begin = header ? 1 : 0;
  if (rows.size() == begin) throw Error(fmt::format("'{}' has no data rows", path));
  const Layout l = layout_of(path, rows.front(), header, options, sep);
  const std::size_t columns = l.names.size();
  for (std::size_t i = begin; i < rows.size(); ++i) {
    if (rows[i].cells.size() != columns) {
      throw Error(fmt::format("{}:{}: {} columns, the first row has {} (split by {})", path, rows[i].line(),
                              rows[i].cells.size(), columns, separator_name(sep)));
    }
  }
  const auto n = static_cast<std::int64_t>(rows.size() - begin);
  CsvInfo found;
  Dataset d{path, Tensor(DType::f32, Shape{n, static_cast<std::int64_t>(l.features.size())}), Tensor(), 0, {}};
  for (std::size_t j = 0; j < l.features.size(); ++j) {
    const std::vector<double> v = numbers(path, rows, begin, l, l.features[j], sep);
    float* x = d.features.data<float>() + j;
    for (std::size_t i = 0; i < v.size(); ++i) x[i * l.features.size()] = static_cast<float>(v[i]);
    if (auto w = index_column(path, l, l.features[j], v)) found.warnings.push_back(*w);
    found.feature_names.push_back(l.names[l.features[j]]);
  }
  if (!l.targets.empty()) {
    const auto k = static_cast<std::int64_t>(l.targets.size());
    Tensor y(DType::f32, Shape{n, k});
    for (std::size_t j = 0; j < l.targets.size(); ++j) {
      const std::vector<double> v = numbers(path, rows, begin, l, l.targets[j], sep);
      float* t = y.data<float>() + j;
      for (std::size_t i = 0; i < v.size(); ++i) t[i * l.targets.size()] = static_cast<float>(v[i]);
      found.target_names.push_back(l.names[l.targets[j]]);
    }
    d.arrays["y"] = y;
  }
  if (l.label) {
    const std::vector<std::int32_t> classes = classes_of(path, rows, begin, *l.label, options.classes, found.classes);
    d.labels = Tensor(DType::i32, Shape{n});
    std::copy(classes.begin(), classes.end(), d.labels.data<std::int32_t>());
    for (auto c : classes) d.num_classes = std::max<std::int64_t>(d.num_classes, c + 1);
    d.num_classes = std::max(d.num_classes, static_cast<std::int64_t>(found.classes.size()));
    found.label_name = l.names[*l.label];
  }
  if (info != nullptr) {
    found.separator = sep;
    found.header = header;
    found.columns = l.names;
    *info = std::move(found);
  }
  return d;
}

}  // namespace symgrad
