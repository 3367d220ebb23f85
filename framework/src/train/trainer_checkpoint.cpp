// The Trainer's checkpoints and variables files: the store and the trainer's position written
// atomically, read back only into the model they were written from (io/variables_file.hpp).
#include <signal.h>

#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/io/variables_file.hpp"
#include "trainer_impl.hpp"

namespace symgrad {

namespace trainer_detail {

void remove_stale_temporaries(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    const auto at = name.rfind(".tmp-");
    if (at == std::string::npos || !entry.is_regular_file(ec)) continue;
    const std::string pid = name.substr(at + 5);
    if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos) continue;
    // the writer is gone (no such process): its temporary is no one's
    if (::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH) fs::remove(entry.path(), ec);
  }
}

}  // namespace trainer_detail

namespace {
constexpr const char* kEpoch = "trainer/epochs_done";
constexpr const char* kBatch = "trainer/batch_in_epoch";
constexpr const char* kSteps = "trainer/steps";
constexpr const char* kStepCounter = "optimizer/step";
}  // namespace

void Trainer::save_checkpoint(const std::string& path) {
  if (!impl_->incomplete.empty()) {
    throw Error(fmt::format("not saving a checkpoint to '{}': {} and the store holds part of it", path, impl_->incomplete));
  }
  VariableStore all;
  for (const auto& n : store_.names()) all.set(n, store_.get(n));
  all.set(kEpoch, Tensor::scalar(DType::i64, static_cast<double>(impl_->epochs_done)));
  all.set(kBatch, Tensor::scalar(DType::i64, static_cast<double>(impl_->batch_in_epoch)));
  all.set(kSteps, Tensor::scalar(DType::i64, static_cast<double>(impl_->steps)));
  save_variables(all, path);
}

namespace {
// A variables file or checkpoint, with the step counter of one written before the counter was f64
// in every precision (f32 runs kept it in f32) widened: the same count.
VariableStore read_file(const std::string& path) {
  VariableStore loaded = symgrad::load_variables(path);
  if (loaded.has(kStepCounter) && loaded.get(kStepCounter).dtype() == DType::f32) {
    loaded.set(kStepCounter, loaded.get(kStepCounter).to(DType::f64));
  }
  return loaded;
}
// "; KIND (N): a, b, ... and M more" for an error message (nothing when `names` is empty).
std::string name_list(const std::string& kind, const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 6; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 6) out += fmt::format(" and {} more", names.size() - 6);
  return fmt::format("; {} ({}): {}", kind, names.size(), out);
}
// "'name' is f32[2, 32] in the file, f32[2, 16] in the model" for each variable both hold with
// different types.
std::vector<std::string> type_mismatches(const VariableStore& model, const VariableStore& loaded) {
  std::vector<std::string> out;
  for (const auto& n : loaded.names()) {
    if (model.has(n) && model.get(n).type() != loaded.get(n).type()) {
      out.push_back(fmt::format("'{}' is {} in the file, {} in the model", n, loaded.get(n).type().to_string(),
                                model.get(n).type().to_string()));
    }
  }
  return out;
}
}  // namespace

// `loaded` must hold every variable of the model and its step, of the same type; an extension may
// keep more under its own name (early_stopping/best_epoch); the trainer's position is not checked.
void Trainer::check_model_file(const VariableStore& loaded, const std::string& path, const char* what) const {
  std::vector<std::string> missing, unexpected;
  const std::vector<std::string> mismatched = type_mismatches(store_, loaded);
  for (const auto& n : store_.names()) {
    if (!loaded.has(n)) missing.push_back(n);
  }
  for (const auto& n : loaded.names()) {
    if (n.rfind("trainer/", 0) == 0 || store_.has(n)) continue;
    const bool extensions_own = std::any_of(impl_->extensions.begin(), impl_->extensions.end(), [&](const NamedExtension& e) {
      return !e.name.empty() && n.rfind(e.name + "/", 0) == 0;
    });
    if (!extensions_own) unexpected.push_back(n);
  }
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    throw Error(fmt::format("'{}' is not {} of this model{}{}{}", path, what, name_list("missing from the file", missing),
                            name_list("in the file, not in the model", unexpected),
                            name_list("of another shape or type", mismatched)));
  }
}

// Evaluation needs the variables its plan reads, of the model's types; the file may hold more (an
// optimizer's slots, another optimizer's), which are loaded where the model has them.
void Trainer::load_variables(const std::string& path) {
  VariableStore loaded = read_file(path);
  prepare();
  std::vector<std::string> missing;
  const std::vector<std::string> mismatched = type_mismatches(store_, loaded);
  for (const auto& n : impl_->eval->variable_names()) {
    if (!loaded.has(n)) missing.push_back(n);
  }
  if (!missing.empty() || !mismatched.empty()) {
    throw Error(fmt::format("'{}' is not a variables file of this model{}{}", path,
                            name_list("missing from the file", missing), name_list("of another shape or type", mismatched)));
  }
  for (const auto& n : loaded.names()) {
    if (store_.has(n)) store_.set(n, loaded.get(n));
  }
}

void Trainer::load_checkpoint(const std::string& path) {
  VariableStore loaded = read_file(path);
  for (const char* k : {kEpoch, kBatch, kSteps}) {
    if (!loaded.has(k)) throw Error(fmt::format("'{}' is not a trainer checkpoint (no '{}')", path, k));
  }
  // The file must be this model's: every variable the model and its step use, of the same type.
  prepare();
  check_model_file(loaded, path, "a checkpoint");
  impl_->epochs_done = static_cast<std::int64_t>(loaded.get(kEpoch).get(0));
  impl_->batch_in_epoch = static_cast<std::int64_t>(loaded.get(kBatch).get(0));
  impl_->steps = static_cast<std::int64_t>(loaded.get(kSteps).get(0));
  for (const auto& n : loaded.names()) {
    if (n.rfind("trainer/", 0) != 0) store_.set(n, loaded.get(n));
  }
}

void Trainer::reset_learning_rates() {
  prepare();
  const Impl& m = *impl_;
  for (const auto& [name, lr0] : m.training_step.optimizer.learning_rates) {
    store_.get(name).set(0, m.schedule ? m.schedule->lr(lr0, m.epochs_done) : lr0);
  }
}

std::int64_t Trainer::epochs_done() const { return impl_->epochs_done; }
bool Trainer::stopped_early() const { return impl_->stopped; }
std::int64_t Trainer::restored_epoch() const { return impl_->restored_epoch; }
const std::string& Trainer::stopped_by() const { return impl_->stopped_by; }
std::int64_t Trainer::skipped_steps() const { return impl_->skipped_steps; }

}  // namespace symgrad
