// pretraining: greedy layer-wise supervised pretraining, then fine-tuning (Bengio, Lamblin, Popovici
// and Larochelle, "Greedy Layer-Wise Training of Deep Networks", NIPS 2006, its supervised variant;
// Goodfellow, Bengio and Courville, "Deep Learning", section 8.7.4), and the transfer form of
// pretraining: weights loaded by name from an earlier run, parameters frozen by pattern.
//   stage k = 1..L (L: the hidden dense layers), epochs_per_stage epochs each: the network is
//     x -> h_1 -> ... -> h_k -> head_k (a dense layer of its own to the classes,
//     "pretraining/head<k>/{W,b}"); only layer k and head k learn, the layers below stay frozen.
//   then fine-tuning: the model itself, with its own output layer, every parameter learning.
// The stage is a state variable ("pretraining/stage", 0 when fine-tuning) set at the start of each
// epoch: the heads are in the compiled step and selected by it, nothing is recompiled.
#include <memory>

#include <symgrad/io/variables_file.hpp>
#include <symgrad/plugin/plugin.hpp>

namespace {

using namespace symgrad;

constexpr const char* kStage = "pretraining/stage";

class Pretraining final : public Strategy {
 public:
  explicit Pretraining(const Hyperparams& h)
      : per_stage_(h.integer("epochs_per_stage")), load_(h.string("load")), load_pattern_(h.string("load_pattern")),
        freeze_(h.string("freeze")) {}

  Value on_layer_output(ModelContext& ctx, const LayerOutput& out) override {
    if (per_stage_ == 0) return out.value;
    if (out.kind == "input") hidden_.clear(), output_.clear();  // a new graph is being built
    if (out.kind != "dense" || out.stage != LayerOutput::Stage::output) return out.value;
    if (!out.last) {
      hidden_.push_back(out.value);
      return out.value;
    }
    // a DAG's dense layers are its hidden layers in the order they are called; one output only
    if (!output_.empty()) {
      throw UsageError("pretraining trains one head per hidden layer for the model's one output; this model has several ('" +
                       output_ + "' and '" + out.layer + "'): pretrain a model of one output");
    }
    output_ = out.layer;
    // the last layer: its logits, or head k's on h_k while stage k runs
    stages_ = static_cast<std::int64_t>(hidden_.size());
    Value stage = ctx.state(kStage, Shape{}, ParamInfo::Start::zeros);
    const std::int64_t classes = out.value.shape()[1];
    Value logits = out.value;
    for (std::size_t k = 0; k < hidden_.size(); ++k) {
      const std::string head = "pretraining/head" + std::to_string(k + 1);
      const std::int64_t units = hidden_[k].shape()[1];
      Value w = ctx.parameter(head + "/W", Shape{units, classes}, ParamInfo::Start::initializer, units, classes);
      Value b = ctx.parameter(head + "/b", Shape{classes}, ParamInfo::Start::zeros, units, classes);
      Value at_k = equal(stage, ctx.graph().scalar(static_cast<double>(k + 1), ctx.dtype()));
      logits = where(at_k, matmul(hidden_[k], w) + b, logits);
    }
    return logits;
  }

  // Which parameters learn in the step: a 0/1 scalar per parameter, from the stage.
  void transform_gradients(StepContext& ctx) override {
    active_.clear();
    Value stage = ctx.graph().find_leaf(NodeKind::variable, kStage);
    const Value one = ctx.graph().scalar(1.0, ctx.dtype()), zero = ctx.graph().scalar(0.0, ctx.dtype());
    for (const auto& p : ctx.params()) {
      Value a = one;
      if (!freeze_.empty() && name_matches(freeze_, p.name)) {
        a = zero;
      } else if (stage.valid()) {
        // hidden layer denseK learns in stage K and in fine-tuning (s = 0); head K in stage K only;
        // the rest (the output layer) in fine-tuning only
        const std::int64_t k = stage_of(p.name);
        const bool head = p.name.rfind("pretraining/head", 0) == 0;
        a = equal(stage, ctx.graph().scalar(static_cast<double>(k), ctx.dtype()));
        if (k > 0 && !head) a = a + equal(stage, zero);  // the two cannot both hold: 0 or 1
      }
      active_.push_back(a);
      ctx.set_gradient(p.name, ctx.gradient(p.name) * a);
    }
  }

  void extend_step(StepContext& ctx) override {
    for (std::size_t i = 0; i < ctx.params().size(); ++i) {
      const auto& p = ctx.params()[i];
      ctx.set_updated(p.name, where(active_[i], ctx.updated(p.name), p.value));  // frozen: no move at all
    }
  }

  void on_train_begin(TrainEvent& e) override {
    if (load_.empty() || e.step != 0) return;  // a resumed run has its weights already
    const VariableStore saved = load_variables(load_);
    std::size_t loaded = 0;
    for (const auto& name : e.store->names()) {
      if (!name_matches(load_pattern_, name) || !saved.has(name) || name.rfind("pretraining/", 0) == 0) continue;
      Tensor& t = e.store->get(name);
      const Tensor& s = saved.get(name);
      if (s.type() != t.type()) {
        throw UsageError("'" + load_ + "' holds '" + name + "' as " + s.type().to_string() + ", the model has " +
                         t.type().to_string());
      }
      t.copy_from(s);
      ++loaded;
    }
    if (loaded == 0) throw UsageError("'" + load_ + "' has no variable of this model matching '" + load_pattern_ + "'");
  }

  void on_epoch_begin(TrainEvent& e) override {
    if (per_stage_ == 0 || !e.store->has(kStage)) return;
    const std::int64_t s = (e.epoch - 1) / per_stage_ + 1;
    e.store->get(kStage).set(0, s <= stages_ ? static_cast<double>(s) : 0.0);
  }

 private:
  // The stage in which a parameter learns: K for denseK/... (a hidden layer) and pretraining/headK/...,
  // 0 (fine-tuning) for the rest.
  std::int64_t stage_of(const std::string& name) const {
    for (std::int64_t k = 1; k <= stages_; ++k) {
      const std::string n = std::to_string(k);
      if (name.rfind("dense" + n + "/", 0) == 0 || name.rfind("pretraining/head" + n + "/", 0) == 0) return k;
    }
    return 0;
  }

  std::int64_t per_stage_;
  std::string load_, load_pattern_, freeze_;
  std::vector<Value> hidden_, active_;
  std::string output_;  // the output layer seen in the graph being built
  std::int64_t stages_ = 0;
};

void register_components(PluginRegistrar& r) {
  r.add_strategy(
      "pretraining", "greedy layer-wise supervised pretraining then fine-tuning; weights loaded by name, frozen by pattern",
      Schema{int_param("epochs_per_stage", 2, "epochs of each greedy stage (one per hidden dense layer; 0: none)").at_least(0),
             string_param("load", "", "a variables file (an earlier run's variables.bin) to start from"),
             string_param("load_pattern", "*", "the parameters taken from it (a glob)"),
             string_param("freeze", "", "parameters that never change (a glob; empty: none)")},
      [](const Hyperparams& h) { return std::make_unique<Pretraining>(h); });
}

}  // namespace

SYMGRAD_PLUGIN("pretraining", "1.0.0", register_components)
