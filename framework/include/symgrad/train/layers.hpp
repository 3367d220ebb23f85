#pragma once
/// @file
/// Layers as functions from values to values (Keras' functional API, Flax modules): a layer is an
/// object with a name and settings; calling it inside a model's body (train/model.hpp) builds it on
/// its inputs in the mode being built and declares its parameters under its name ("enc/W").
/// Calling the same object again uses the same parameters (hard parameter sharing); another layer
/// reaches them by name (ModelScope::parameter: a tied decoder uses the encoder's W transposed).
/// Every layer's output, after the layer's own activation, is seen by the extensions' layer hooks
/// (Extension::on_layer_output), and an affine layer's output before its activation too.

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "symgrad/plugin/extension.hpp"

namespace symgrad {

class Layer;

/// One call of a layer while a model is built: what a summary, an error or an exporter needs.
struct LayerCall {
  std::string layer;                ///< the layer's name
  std::string kind;                 ///< dense, conv2d, add, ...
  std::string description;          ///< "dense(16, relu)"
  std::vector<std::string> inputs;  ///< the layers (or model inputs) whose values it took
  TensorType output;                ///< its output's type ([?, ...]: the batch dimension open)
};

/// What a model's body builds with, for one mode: the ModelContext (parameters, state, random
/// inputs, penalties, parameter hooks) and the layer hooks, the record of layer calls, and which
/// layers give the model's outputs (their outputs are LayerOutput::last).
class ModelScope {
 public:
  /// `outputs`: the layers whose values are the model's outputs (known from a first pass).
  ModelScope(ModelContext& ctx, std::vector<Extension*> hooks, std::set<std::string> output_layers = {});

  ModelContext& context() const { return *ctx_; }
  Graph& graph() const { return ctx_->graph(); }
  Mode mode() const { return ctx_->mode(); }
  bool training() const { return ctx_->training(); }

  /// A parameter a layer declared before in this model (e.g. "enc/W"), to use elsewhere (tied
  /// weights); UsageError naming it and the parameters there are when there is none.
  Value parameter(const std::string& name) const;
  /// The layer calls so far, in order.
  const std::vector<LayerCall>& calls() const { return calls_; }
  /// The layer (or model input) that produced `v`, or "" when v is no layer's output.
  std::string producer(Value v) const;
  /// The producing layer's name, else the node's label ("#12 matmul"): how messages name a value.
  std::string describe(Value v) const;

  // -- for Layer and Model ---------------------------------------------------------------------
  /// Names a model input, seen by the hooks as the output of a layer of kind "input".
  Value model_input(const std::string& name, Value v);
  /// Starts a call of `layer` on `inputs`: refuses a second layer object of the same name.
  void begin(const Layer& layer, const std::vector<Value>& inputs);
  /// The hooks' value for `layer`'s output at `stage`.
  Value hook(const Layer& layer, LayerOutput::Stage stage, Value v);
  /// Ends the call: records the output's type and producer.
  Value end(const Layer& layer, Value out);

 private:
  ModelContext* ctx_;
  std::vector<Extension*> hooks_;
  std::set<std::string> output_layers_;
  std::map<std::string, const Layer*> layers_;
  std::map<std::pair<std::int32_t, std::int32_t>, std::string> producers_;
  std::vector<LayerCall> calls_;
  std::vector<std::size_t> open_;  // the calls begun and not ended (a layer may call layers)
  std::size_t index_ = 0;
};

/// A layer: a named function of values that declares its parameters under its name.
class Layer {
 public:
  explicit Layer(std::string name);
  virtual ~Layer() = default;
  const std::string& name() const { return name_; }
  /// dense, conv2d, activation, dropout, flatten, max_pool, avg_pool, batch_norm, layer_norm,
  /// add, concat, multiply, or a plugin's kind.
  virtual std::string kind() const = 0;
  /// The layer as a user wrote it: "dense(16, relu)".
  virtual std::string describe() const = 0;
  /// The layer's own activation, applied to its affine output ("none": it has none).
  virtual std::string activation() const { return "none"; }
  /// How many inputs it takes (-1: two or more, a merge layer).
  virtual int arity() const { return 1; }

  /// Builds the layer on `inputs` in the scope's mode; returns its output after the hooks.
  Value operator()(ModelScope& scope, const std::vector<Value>& inputs) const;
  Value operator()(ModelScope& scope, Value x) const { return (*this)(scope, std::vector<Value>{x}); }

 protected:
  /// The layer's computation; an affine layer returns affine(scope, z) so that the hooks see z
  /// before the activation.
  virtual Value build(ModelScope& scope, const std::vector<Value>& inputs) const = 0;
  /// z hooked as the pre-activation output, then the layer's activation applied.
  Value affine(ModelScope& scope, Value z) const;

 private:
  std::string name_;
};

/// y = x W + b ("<name>/W" [in, units] from the initializer, "<name>/b" [units] zeros), then the
/// activation. x is [N, features]. `tied`: W is the transpose of the dense layer `tied`'s W (a
/// tied autoencoder's decoder; hard parameter sharing), declared before this layer is called; only
/// the bias is this layer's own.
class Dense final : public Layer {
 public:
  Dense(std::string name, std::int64_t units, std::string activation = "none", std::string tied = "");
  std::string kind() const override { return "dense"; }
  std::string describe() const override;
  std::string activation() const override { return activation_; }

 protected:
  Value build(ModelScope& scope, const std::vector<Value>& inputs) const override;

 private:
  std::int64_t units_;
  std::string activation_, tied_;
};

/// A 2-D convolution over [N, C, H, W] ("<name>/W" [filters, C, k, k], "<name>/b" [1, filters, 1, 1]),
/// then the activation.
class Conv2D final : public Layer {
 public:
  Conv2D(std::string name, std::int64_t filters, std::int64_t kernel, std::int64_t stride = 1, std::int64_t padding = 0,
         std::string activation = "none");
  std::string kind() const override { return "conv2d"; }
  std::string describe() const override;
  std::string activation() const override { return activation_; }

 protected:
  Value build(ModelScope& scope, const std::vector<Value>& inputs) const override;

 private:
  std::int64_t filters_, kernel_, stride_, padding_;
  std::string activation_;
};

/// f(x) for an activation: none, relu, tanh, sigmoid, leaky_relu, softplus, or any registered op
/// of one input whose output has its input's type (a plugin's op included).
class Activation final : public Layer {
 public:
  Activation(std::string name, std::string function);
  std::string kind() const override { return "activation"; }
  std::string describe() const override { return function_; }

 protected:
  Value build(ModelScope& scope, const std::vector<Value>& inputs) const override;

 private:
  std::string function_;
};

/// Inverted dropout (plugin/layers.hpp dropout_layer): p dropped in training, identity in inference.
class Dropout final : public Layer {
 public:
  Dropout(std::string name, double p);
  std::string kind() const override { return "dropout"; }
  std::string describe() const override;

 protected:
  Value build(ModelScope& scope, const std::vector<Value>& inputs) const override;

 private:
  double p_;
};

/// [N, ...] to [N, features].
class Flatten final : public Layer {
 public:
  explicit Flatten(std::string name) : Layer(std::move(name)) {}
  std::string kind() const override { return "flatten"; }
  std::string describe() const override { return "flatten"; }

 protected:
  Value build(ModelScope& scope, const std::vector<Value>& inputs) const override;
};

/// [N, ...] to [N, shape...] (the example's new shape, of as many elements).
class Reshape final : public Layer {
 public:
  Reshape(std::string name, Shape shape);
  std::string kind() const override { return "reshape"; }
  std::string describe() const override;

 protected:
  Value build(ModelScope& scope, const std::vector<Value>& inputs) const override;

 private:
  Shape shape_;
};

/// Max or average pooling over kernel x kernel windows of [N, C, H, W] (stride: the kernel when 0).
class Pool2D final : public Layer {
 public:
  enum class Kind { max, average };
  Pool2D(std::string name, Kind kind, std::int64_t kernel, std::int64_t stride = 0);
  std::string kind() const override { return kind_ == Kind::max ? "max_pool" : "avg_pool"; }
  std::string describe() const override;

 protected:
  Value build(ModelScope& scope, const std::vector<Value>& inputs) const override;

 private:
  Kind kind_;
  std::int64_t kernel_, stride_;
};

/// Batch normalization (plugin/layers.hpp batch_norm_layer; torch.nn.BatchNorm's semantics).
class BatchNorm final : public Layer {
 public:
  BatchNorm(std::string name, double momentum = 0.1, double eps = 1e-5, bool sync = false);
  std::string kind() const override { return "batch_norm"; }
  std::string describe() const override { return "batch_norm"; }

 protected:
  Value build(ModelScope& scope, const std::vector<Value>& inputs) const override;

 private:
  double momentum_, eps_;
  bool sync_;
};

/// Layer normalization over every axis but the batch's (Ba, Kiros and Hinton 2016;
/// torch.nn.LayerNorm over the example's shape): y = (x - mean) / sqrt(var + eps) * gamma + beta,
/// mean and biased variance per example; "<name>/gamma" (ones) and "<name>/beta" (zeros) of the
/// example's shape. The same in training and inference.
class LayerNorm final : public Layer {
 public:
  explicit LayerNorm(std::string name, double eps = 1e-5);
  std::string kind() const override { return "layer_norm"; }
  std::string describe() const override { return "layer_norm"; }

 protected:
  Value build(ModelScope& scope, const std::vector<Value>& inputs) const override;

 private:
  double eps_;
};

/// A merge of two or more values of one shape: their sum, their elementwise product, or their
/// concatenation along `axis` (of the example: 0 is the first axis after the batch's).
class Merge final : public Layer {
 public:
  enum class Kind { add, multiply, concat };
  Merge(std::string name, Kind kind, std::int64_t axis = 0);
  std::string kind() const override;
  std::string describe() const override;
  int arity() const override { return -1; }

 protected:
  Value build(ModelScope& scope, const std::vector<Value>& inputs) const override;

 private:
  Kind kind_;
  std::int64_t axis_;
};

/// f(x) for an activation name (see Activation); throws UsageError for an unknown one, naming the
/// built-in ones.
Value activate(Value x, const std::string& name);
/// Throws UsageError unless `name` is an activation activate() takes.
void check_activation(const std::string& name);

}  // namespace symgrad
