#pragma once
// Training curves from metrics CSV files: one picture per quantity (loss, accuracy), the
// training and validation curves of each run.

#include <string>
#include <vector>

namespace symgrad::cli {

struct CurveRun {
  std::string label;
  std::string epochs_csv;  // a run's metrics-epochs.csv
};

/// The values of the column named `column` of a metrics CSV file (empty cells skipped; none when
/// the file or the column is missing).
std::vector<double> metrics_column(const std::string& csv, const std::string& column);

/// A UsageError naming `option` unless `x` is an axis every metrics-epochs.csv has to draw
/// against: epoch, step (optimizer steps so far) or elapsed (seconds since training began).
void check_epochs_axis(const std::string& option, const std::string& x);

/// The file a comparison of `column` (val_loss, val_accuracy) against `x` goes to in `dir`:
/// val_loss.svg against epochs, val_loss-step.svg or val_loss-elapsed.svg against the others (so
/// that drawing one axis keeps the other's picture).
std::string comparison_file(const std::string& dir, const std::string& column, const std::string& x);

/// Draws `columns` (e.g. {"train_loss", "val_loss"}) against the column `x` (a UsageError naming
/// the file when it has none of that name) for every run into `file`; `CurveRun::epochs_csv` may
/// be any metrics file (metrics-steps.csv against "step"). Values spanning two decades or more,
/// all positive, go on a log axis, and so does x when the runs' last x values are 30x or more apart
/// (a batch of one's steps beside a full batch's); the legend sits below the axes; many points are
/// drawn as lines.
void plot_curves(const std::string& file, const std::string& title, const std::string& ylabel,
                 const std::vector<CurveRun>& runs, const std::vector<std::string>& columns,
                 const std::string& x = "epoch");

/// Draws each of `columns` in a panel of its own, each with its own y axis, against the column
/// `x`, for every run (`CurveRun::epochs_csv` is here a metrics-steps.csv): values of different
/// kinds and scales that one extension reports (the curvature strategy's eigenvalues, gradient
/// norm and cost). Empty cells (a value measured every K steps) are skipped, the points joined.
void plot_panels(const std::string& file, const std::string& title, const std::vector<CurveRun>& runs,
                 const std::vector<std::string>& columns, const std::string& x = "step");

}  // namespace symgrad::cli
