// early_stopping: stop when a monitored metric has not improved for `patience` epochs, and put
// back the variables of the best epoch whenever training ends, stopped or not (Goodfellow, Bengio
// and Courville, "Deep Learning", section 7.8, Algorithm 7.1; Keras' EarlyStopping with
// restore_best_weights). The best epoch, the steps taken by then and its metric are recorded in the
// store ("early_stopping/best_epoch", "early_stopping/best_step", "early_stopping/best_value"), so
// variables.bin and checkpoints keep them. `retrain` asks `symgrad train` to use the validation data
// afterwards, by Algorithm 7.2 or 7.3 of the book (train/retraining.hpp; the plugin only records).
#include <limits>
#include <map>

#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class EarlyStopping final : public Regularizer {
 public:
  explicit EarlyStopping(const Hyperparams& h)
      : monitor_(h.string("monitor")), patience_(h.integer("patience")), min_delta_(h.real("min_delta")),
        restore_(h.boolean("restore_best")), maximize_(maximized(monitor_)) {}

  // Accuracies and R^2 grow as a model gets better; losses, RMSE and MAE shrink.
  static bool maximized(const std::string& metric) {
    return metric.find("accuracy") != std::string::npos || metric.find("r2") != std::string::npos;
  }

  void on_epoch_end(TrainEvent& e) override {
    auto it = e.metrics.find(monitor_);
    if (it == e.metrics.end()) {
      std::string names;
      for (const auto& [name, value] : e.metrics) names += (names.empty() ? "" : ", ") + name;
      throw UsageError("early_stopping monitors '" + monitor_ + "', which this run does not measure (validation data?); "
                       "it measures: " + names);
    }
    const double v = maximize_ ? -it->second : it->second;  // smaller is better
    if (v < best_ - min_delta_) {
      best_ = v, best_epoch_ = e.epoch, best_step_ = e.step, waited_ = 0;
      e.store->set("early_stopping/best_epoch", Tensor::scalar(DType::i64, static_cast<double>(best_epoch_)));
      e.store->set("early_stopping/best_step", Tensor::scalar(DType::i64, static_cast<double>(best_step_)));
      e.store->set("early_stopping/best_value", Tensor::scalar(DType::f64, it->second));
      if (restore_ && e.store != nullptr) {  // the variables of the best epoch so far
        best_vars_.clear();
        for (const auto& n : e.store->names()) best_vars_[n] = e.store->get(n).clone();
      }
      return;
    }
    if (++waited_ < patience_) return;
    e.stop = true;
    e.metrics["early_stopping/best_epoch"] = static_cast<double>(best_epoch_);
  }

  // whenever training ends (patience ran out, the last epoch, a stop by anything else): the best
  void on_train_end(TrainEvent& e) override {
    if (!restore_ || e.store == nullptr || best_vars_.empty()) return;
    for (const auto& [n, t] : best_vars_) {
      if (e.store->has(n) && n.rfind("early_stopping/", 0) != 0) e.store->get(n).copy_from(t);
    }
    e.restored_epoch = best_epoch_;  // the run's summary evaluates these weights and names the epoch
  }

 private:
  std::string monitor_;
  std::int64_t patience_, waited_ = 0, best_epoch_ = 0, best_step_ = 0;
  double min_delta_, best_ = std::numeric_limits<double>::infinity();
  bool restore_, maximize_;
  std::map<std::string, Tensor> best_vars_;
};

void register_components(PluginRegistrar& r) {
  r.add_regularizer("early_stopping", "stop when the monitored metric stops improving; restore the best epoch",
                    Schema{string_param("monitor", "val_loss",
                                        "the epoch metric watched: val_loss (the model's total), val_accuracy or "
                                        "val_rmse, or one output's val_<output>/<metric>; accuracies and r2 are "
                                        "maximized"),
                           int_param("patience", 5, "epochs without improvement before stopping").at_least(1),
                           real_param("min_delta", 0.0, "smallest change that counts as improvement").at_least(0),
                           bool_param("restore_best", true, "put back the variables of the best epoch"),
                           choice_param("retrain", "none", {"none", "from_scratch", "continue"},
                                        "then train on training + validation data (symgrad train): for the best "
                                        "number of steps from new first values (Alg. 7.2), or from the best "
                                        "model until the validation loss is below the training loss there (7.3)")},
                    [](const Hyperparams& h) { return std::make_unique<EarlyStopping>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("early_stopping", "1.0.0", register_components)
