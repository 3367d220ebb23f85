#include "guards.hpp"

#include <cmath>
#include <exception>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"
#include "symgrad/plugin/probe.hpp"

namespace symgrad::plugin_detail {

void rethrow_from_plugin(const std::string& who, const std::string& what) {
  try {
    throw;
  } catch (const ShapeError&) {
    throw;
  } catch (const PluginError&) {
    throw;
  } catch (const UsageError& e) {  // a plugin's own check of its settings or inputs
    throw UsageError(fmt::format("{}: {}", who, e.what()));
  } catch (const std::exception& e) {
    throw PluginError(fmt::format("{} failed while {}: {}", who, what, e.what()));
  } catch (...) {
    throw PluginError(fmt::format("{} failed while {}: an exception that is not a std::exception", who, what));
  }
}

namespace {

class GuardedKernel final : public PreparedKernel {
 public:
  GuardedKernel(std::unique_ptr<PreparedKernel> inner, std::string who) : inner_(std::move(inner)), who_(std::move(who)) {}
  void run(const KernelContext& ctx) override {
    guarded(who_, fmt::format("running its prepared kernel at node {}", ctx.node.label()), [&] { inner_->run(ctx); });
  }

 private:
  std::unique_ptr<PreparedKernel> inner_;
  std::string who_;
};

class GuardedInitializer final : public Initializer {
 public:
  GuardedInitializer(std::unique_ptr<Initializer> x, std::string who) : x_(std::move(x)), who_(std::move(who)) {}
  Tensor initial_value(const InitRequest& r) override {
    Tensor t = guarded(who_, fmt::format("initializing '{}'", r.name), [&] { return x_->initial_value(r); });
    if (!t.defined() || t.type() != r.type) {
      throw PluginError(fmt::format("{} made {} for '{}', which is {}", who_,
                                    t.defined() ? t.type().to_string() : "nothing", r.name, r.type.to_string()));
    }
    for (std::int64_t i = 0; i < t.numel(); ++i) {  // once per parameter: a plain loop is fine
      if (!std::isfinite(t.get(i))) {
        throw PluginError(fmt::format("{} gave '{}' the value {} at element {}: first values must be finite", who_, r.name,
                                      t.get(i), i));
      }
    }
    return t;
  }

 private:
  std::unique_ptr<Initializer> x_;
  std::string who_;
};

class GuardedUpdateRule final : public UpdateRule {
 public:
  GuardedUpdateRule(std::unique_ptr<UpdateRule> x, std::string who) : x_(std::move(x)), who_(std::move(who)) {}
  void begin_step(OptimizerContext& ctx) override { guarded(who_, "beginning its step", [&] { x_->begin_step(ctx); }); }
  Value update(OptimizerContext& ctx, const ParamGrad& p) override {
    return guarded(who_, fmt::format("building the update of '{}'", p.name), [&] { return x_->update(ctx, p); });
  }

 private:
  std::unique_ptr<UpdateRule> x_;
  std::string who_;
};

class GuardedHostOptimizer final : public HostOptimizer {
 public:
  GuardedHostOptimizer(std::unique_ptr<HostOptimizer> x, std::string who) : x_(std::move(x)), who_(std::move(who)) {}
  double iterate(Objective& f, std::vector<double>& x) override {
    return guarded(who_, "iterating", [&] { return x_->iterate(f, x); });
  }

 private:
  std::unique_ptr<HostOptimizer> x_;
  std::string who_;
};

class GuardedLoss final : public Loss {
 public:
  GuardedLoss(std::unique_ptr<Loss> x, std::string who) : x_(std::move(x)), who_(std::move(who)) {}
  Task task() const override { return guarded(who_, "telling its task", [&] { return x_->task(); }); }
  Value per_example(Value output, Value target) const override {
    Value v = guarded(who_, fmt::format("building its loss of an output {}", output.type().to_string()),
                      [&] { return x_->per_example(output, target); });
    if (!v.valid() || v.graph != output.graph || v.shape().rank() != 1) {
      throw PluginError(fmt::format("{} gave {} for an output {}; a loss gives one value per example [N]", who_,
                                    v.valid() && v.graph == output.graph ? v.type().to_string() : "no value of its graph",
                                    output.type().to_string()));
    }
    return v;
  }

 private:
  std::unique_ptr<Loss> x_;
  std::string who_;
};

// Every extension point of a regularizer or strategy, each guarded.
template <class B>
class GuardedExtension : public B {
 public:
  using Base = B;
  using Wrapped = std::unique_ptr<B>;
  GuardedExtension(std::unique_ptr<Base> x, std::string who) : x_(std::move(x)), who_(std::move(who)) {}
  void on_train_begin(TrainEvent& e) override { call("on_train_begin", [&] { x_->on_train_begin(e); }); }
  void on_epoch_begin(TrainEvent& e) override { call("on_epoch_begin", [&] { x_->on_epoch_begin(e); }); }
  void on_step_begin(TrainEvent& e) override { call("on_step_begin", [&] { x_->on_step_begin(e); }); }
  void on_step_end(TrainEvent& e) override { call("on_step_end", [&] { x_->on_step_end(e); }); }
  void on_epoch_trained(TrainEvent& e) override { call("on_epoch_trained", [&] { x_->on_epoch_trained(e); }); }
  void on_epoch_end(TrainEvent& e) override { call("on_epoch_end", [&] { x_->on_epoch_end(e); }); }
  void on_train_end(TrainEvent& e) override { call("on_train_end", [&] { x_->on_train_end(e); }); }
  Value on_layer_output(ModelContext& ctx, const LayerOutput& out) override {
    Value v = guarded(who_, fmt::format("rewriting the output of layer '{}'", out.layer),
                      [&] { return x_->on_layer_output(ctx, out); });
    if (!v.valid() || v.graph != out.value.graph || v.type() != out.value.type()) {
      throw PluginError(fmt::format("{} replaced the output of layer '{}' ({}) by {}", who_, out.layer,
                                    out.value.type().to_string(),
                                    v.valid() && v.graph == out.value.graph ? v.type().to_string() : "no value of its graph"));
    }
    return v;
  }
  Value on_parameter(ModelContext& ctx, const std::string& name, Value variable) override {
    Value v = guarded(who_, fmt::format("rewriting the parameter '{}'", name), [&] { return x_->on_parameter(ctx, name, variable); });
    if (!v.valid() || v.graph != variable.graph || v.type() != variable.type()) {
      throw PluginError(fmt::format("{} replaced the parameter '{}' ({}) by {}", who_, name, variable.type().to_string(),
                                    v.valid() && v.graph == variable.graph ? v.type().to_string() : "no value of its graph"));
    }
    return v;
  }
  Value penalty(const PenaltyContext& ctx) override {
    Value v = guarded(who_, "building its penalty", [&] { return x_->penalty(ctx); });
    if (v.valid() && (v.graph != ctx.graph || v.shape().rank() != 0)) {
      throw PluginError(fmt::format("{} made a penalty that is not a scalar of the training graph", who_));
    }
    return v;
  }
  void transform_gradients(StepContext& ctx) override {
    guarded(who_, "transforming the gradients", [&] { x_->transform_gradients(ctx); });
  }
  void extend_step(StepContext& ctx) override { guarded(who_, "extending the training step", [&] { x_->extend_step(ctx); }); }
  void transform_batch(BatchData& b) override {
    const TensorType type = b.features.type();
    guarded(who_, fmt::format("transforming the batch of step {}", b.step + 1), [&] { x_->transform_batch(b); });
    if (!b.features.defined() || b.features.type() != type) {
      throw PluginError(fmt::format("{} changed a batch of {} into {}", who_, type.to_string(),
                                    b.features.defined() ? b.features.type().to_string() : "nothing"));
    }
  }
  void order_epoch(EpochData& d) override {
    const std::size_t n = d.order.size();
    guarded(who_, fmt::format("ordering the examples of epoch {}", d.epoch), [&] { x_->order_epoch(d); });
    for (std::int64_t i : d.order) {
      if (i < 0 || static_cast<std::size_t>(i) >= n) {
        throw PluginError(fmt::format("{} put example {} in epoch {}, which has examples 0 to {}", who_, i, d.epoch, n - 1));
      }
    }
  }

 protected:
  template <class F>
  void call(const char* point, F&& f) {
    guarded(who_, fmt::format("running its callback {}", point), f);
  }
  std::unique_ptr<Base> x_;
  std::string who_;
};

class GuardedRegularizer : public GuardedExtension<Regularizer> {
 public:
  using GuardedExtension::GuardedExtension;
  Value project(const NamedParam& p, Value updated) override {
    return guarded(who_, fmt::format("projecting '{}'", p.name), [&] { return x_->project(p, updated); });
  }
};

// An extension that is also an ObjectiveProbe (plugin/probe.hpp) stays one when guarded.
template <class Guarded>
class GuardedProbe final : public Guarded, public ObjectiveProbe {
 public:
  GuardedProbe(ObjectiveProbe& probe, typename Guarded::Wrapped x, const std::string& who)
      : Guarded(std::move(x), who), probe_(&probe) {}
  std::int64_t probe_examples() const override {
    return guarded(this->who_, "choosing its batch", [&] { return probe_->probe_examples(); });
  }
  void attach(const ProbeContext& ctx) override { guarded(this->who_, "attaching its probe", [&] { probe_->attach(ctx); }); }

 private:
  ObjectiveProbe* probe_;  // the wrapped extension, seen as a probe
};

// The guarded extension, a probe when `x` is one.
template <class Guarded>
std::unique_ptr<typename Guarded::Base> guard_extension(typename Guarded::Wrapped x, const std::string& who) {
  if (auto* probe = dynamic_cast<ObjectiveProbe*>(x.get())) return std::make_unique<GuardedProbe<Guarded>>(*probe, std::move(x), who);
  return std::make_unique<Guarded>(std::move(x), who);
}

}  // namespace

void guard_op(OpDef& op, StagedKernels& kernels, const std::string& who) {
  if (op.infer) {
    op.infer = [f = op.infer, who](const InferContext& c) { return guarded(who, "inferring its types", [&] { return f(c); }); };
  }
  if (op.pullback) {
    op.pullback = [f = op.pullback, who](const PullbackContext& c) {
      return guarded(who, "building its pullback", [&] { return f(c); });
    };
  }
  if (op.samples) {
    op.samples = [f = op.samples, who] { return guarded(who, "making its samples", [&] { return f(); }); };
  }
  for (auto& [backend, k] : kernels.kernels) {
    k = [f = k, who, what = fmt::format("running its {} kernel", backend)](const KernelContext& c) {
      guarded(who, fmt::format("{} at node {}", what, c.node.label()), [&] { f(c); });
    };
  }
  for (auto& [backend, make] : kernels.factories) {
    make = [f = make, who, backend = backend](const PrepareContext& c) -> std::unique_ptr<PreparedKernel> {
      auto k = guarded(who, fmt::format("preparing its {} kernel for node {}", backend, c.node.label()),
                       [&] { return f(c); });
      if (!k) return k;
      return std::make_unique<GuardedKernel>(std::move(k), who);
    };
  }
}

std::unique_ptr<Initializer> guard(std::unique_ptr<Initializer> x, const std::string& who) {
  return std::make_unique<GuardedInitializer>(std::move(x), who);
}
std::unique_ptr<UpdateRule> guard(std::unique_ptr<UpdateRule> x, const std::string& who) {
  return std::make_unique<GuardedUpdateRule>(std::move(x), who);
}
std::unique_ptr<HostOptimizer> guard(std::unique_ptr<HostOptimizer> x, const std::string& who) {
  return std::make_unique<GuardedHostOptimizer>(std::move(x), who);
}
std::unique_ptr<Regularizer> guard(std::unique_ptr<Regularizer> x, const std::string& who) {
  return guard_extension<GuardedRegularizer>(std::move(x), who);
}
std::unique_ptr<Strategy> guard(std::unique_ptr<Strategy> x, const std::string& who) {
  return guard_extension<GuardedExtension<Strategy>>(std::move(x), who);
}
std::unique_ptr<Loss> guard(std::unique_ptr<Loss> x, const std::string& who) {
  return std::make_unique<GuardedLoss>(std::move(x), who);
}

}  // namespace symgrad::plugin_detail
