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

/// Draws `columns` (e.g. {"train_loss", "val_loss"}) against the epoch for every run into `file`.
void plot_curves(const std::string& file, const std::string& title, const std::string& ylabel,
                 const std::vector<CurveRun>& runs, const std::vector<std::string>& columns);

}  // namespace symgrad::cli
