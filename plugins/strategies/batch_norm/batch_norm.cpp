// batch_norm: inserts batch normalization (Ioffe and Szegedy, "Batch Normalization: Accelerating
// Deep Network Training by Reducing Internal Covariate Shift", ICML 2015; Goodfellow, Bengio and
// Courville, "Deep Learning", section 8.7.1) after the chosen layers of a model that has none:
//   training:  y = gamma (h - mean_B) / sqrt(var_B + eps) + beta        (batch statistics)
//              r_mean = (1 - momentum) r_mean + momentum mean_B
//              r_var  = (1 - momentum) r_var  + momentum var_B n / (n - 1)   (unbiased)
//   inference: y = gamma (h - r_mean) / sqrt(r_var + eps) + beta
// as torch.nn.BatchNorm1d/2d (momentum 0.1, eps 1e-5). `batch_norm_keras` is the same with Keras's
// convention: momentum 0.99 weighs the old statistics (r = momentum r + (1 - momentum) batch), eps 1e-3.
// Variables: "batch_norm/<layer>/{gamma,beta,running_mean,running_var}".
// sync = true: under mpirun, the statistics of the whole global batch, summed over the processes
// (torch.nn.SyncBatchNorm); by default each process uses its own shard's (as torch DDP does).
#include <algorithm>
#include <memory>
#include <sstream>

#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

class BatchNorm final : public Strategy {
 public:
  BatchNorm(const Hyperparams& h, bool keras)
      : layers_(h.string("layers")), before_(h.string("position") == "before_activation"), last_(h.boolean("last")),
        momentum_(keras ? 1.0 - h.real("momentum") : h.real("momentum")), eps_(h.real("eps")), sync_(h.boolean("sync")) {
    std::stringstream kinds(h.string("kinds"));
    for (std::string k; std::getline(kinds, k, ',');) {
      if (k != "dense" && k != "conv2d") {
        throw UsageError("kinds: '" + k + "' is not a layer kind batch normalization follows (dense, conv2d)");
      }
      kinds_.push_back(k);
    }
  }

  Value on_layer_output(ModelContext& ctx, const LayerOutput& out) override {
    if (std::find(kinds_.begin(), kinds_.end(), out.kind) == kinds_.end()) return out.value;
    if (!name_matches(layers_, out.layer) || (out.last && !last_)) return out.value;
    // before the activation: the affine output (a layer without activation has only its output)
    const bool here = before_ && out.activation != "none" ? out.stage == LayerOutput::Stage::pre_activation
                                                          : out.stage == LayerOutput::Stage::output;
    if (!here) return out.value;
    return batch_norm_layer(ctx, out.value, "batch_norm/" + out.layer, momentum_, eps_, sync_);
  }

 private:
  std::string layers_;
  std::vector<std::string> kinds_;
  bool before_, last_;
  double momentum_, eps_;
  bool sync_;
};

Schema schema(double momentum, const char* momentum_doc, double eps) {
  return Schema{string_param("layers", "*", "layers normalized (a glob over names: dense1, conv2, ...)"),
                string_param("kinds", "dense,conv2d", "layer kinds normalized, comma-separated"),
                choice_param("position", "before_activation", {"before_activation", "after_activation"},
                             "normalize a layer's affine output before its activation (Ioffe and Szegedy) or after"),
                bool_param("last", false, "also normalize the last layer's output (the logits)"),
                real_param("momentum", momentum, momentum_doc).greater_than(0).less_than(1),
                real_param("eps", eps, "added to the variance").greater_than(0),
                bool_param("sync", false,
                           "data-parallel training: the whole batch's statistics, summed over the processes "
                           "(torch.nn.SyncBatchNorm); false: each process's own shard's")};
}

void register_components(PluginRegistrar& r) {
  r.add_strategy("batch_norm", "insert batch normalization after chosen layers (torch.nn.BatchNorm conventions)",
                 schema(0.1, "weight of the batch in the running statistics (torch)", 1e-5),
                 [](const Hyperparams& h) { return std::make_unique<BatchNorm>(h, false); });
  r.add_strategy("batch_norm_keras", "batch_norm with Keras's conventions (momentum weighs the old statistics)",
                 schema(0.99, "weight of the old running statistics (Keras)", 1e-3),
                 [](const Hyperparams& h) { return std::make_unique<BatchNorm>(h, true); });
}

}  // namespace

SYMGRAD_PLUGIN("batch_norm", "1.0.0", register_components)
