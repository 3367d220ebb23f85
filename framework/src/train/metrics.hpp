#pragma once
// Metrics: an output's metrics over a data set or an epoch, by the task of its loss (sums over
// batches and over the processes of data-parallel training, then accuracy for classification and
// multi-label outputs, RMSE, MAE and R^2 for regression), and the metrics files a run writes.
// Internal to framework/src/train.

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "symgrad/core/error.hpp"
#include "symgrad/core/tensor.hpp"
#include "symgrad/plugin/loss.hpp"

namespace symgrad::trainer_detail {

class Score {
 public:
  explicit Score(Task task = Task::classification) : task_(task) {}
  /// Adds a batch: the output [B, ...] against its target (classes [B], or the output's shape).
  void add(const Tensor& output, const Tensor& target);
  /// Adds another score's sums (of the same task).
  void merge(const Score& other) {
    for (std::size_t i = 0; i < sums_.size(); ++i) sums_[i] += other.sums_[i];
    if (task_ == Task::classification) sums_[3] = std::max(sums_[3] - other.sums_[3], other.sums_[3]);  // classes: the most
  }
  /// The sums, to add up over processes (allreduce) and to restore from them.
  std::array<double, 7>& sums() { return sums_; }
  /// The main metric: accuracy (classification, multi-label) or RMSE (regression).
  double primary() const;
  const char* primary_name() const { return task_ == Task::regression ? "rmse" : "accuracy"; }
  /// Every metric of the task: accuracy (and top5, a classifier of more than 5 classes: the class
  /// among the 5 highest scores); or rmse, mae, r2.
  std::map<std::string, double> metrics() const;

 private:
  Task task_;
  // classification: right, examples, right in the top 5, classes; multi-label: right labels,
  // labels; regression: squared and absolute errors, sum and sum of squares of the targets, elements
  std::array<double, 7> sums_{};
};

// A metrics file in CSV and JSON lines. The CSV's columns are those of its first row; a row that
// brings a new column (a value an extension reports now and then) adds it, and the rows before it
// get an empty cell there, as does a later row without it.
class MetricsFile {
 public:
  /// Starts `base`.csv and `base`.jsonl. `append`: a resumed run adds to the files of the run it
  /// continues, after dropping their rows past its checkpoint (rows whose `column` is above `last`:
  /// written after the last checkpoint by a run that was killed), so no epoch or step is repeated.
  void open(const std::filesystem::path& base, bool append, const std::string& column, double last);
  void write(const std::vector<std::pair<std::string, double>>& row);
  /// The value of `column` in the last row the file kept when it was opened to append (0 when
  /// there is none): where a run-wide count such as "elapsed" carries on from.
  double kept(const std::string& column) const;

 private:
  std::ofstream csv_, jsonl_;
  std::string base_;
  std::vector<std::string> columns_;  // the CSV's header, once written
  std::vector<std::string> last_row_;  // the last row kept on opening to append, by cell
};

}  // namespace symgrad::trainer_detail
