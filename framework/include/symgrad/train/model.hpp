#pragma once
/// @file
/// Models: a graph description with named inputs, named outputs, and one or more losses (each on
/// an output, against a named target, with a weight). Its body is a function from the inputs to
/// the outputs, written with layers (train/layers.hpp): any DAG — skip connections, merges, shared
/// layers, several inputs and heads — and any C++ in between (a block repeated N times is a loop).
/// The trainer builds the body twice from the same description, once for training (dropout
/// active, batch statistics) and once for inference, over the same named variables: the mode
/// cannot be forgotten. `Sequential` is one way to make a Model.
///
///   Model m;
///   m.input("x", {DType::f32, Shape{784}});
///   m.body([](ModelScope& s, const NamedValues& in) {
///     static const Dense enc("enc", 64, "relu"), dec("dec", 784);
///     return NamedValues{{"reconstruction", dec(s, enc(s, in.at("x")))}};
///   });
///   m.loss({"reconstruction", "mse", {}, "x"});  // an autoencoder: the target is the input

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "symgrad/graph/graph.hpp"
#include "symgrad/plugin/extension.hpp"
#include "symgrad/plugin/hyperparams.hpp"
#include "symgrad/train/layers.hpp"
#include "symgrad/plugin/loss.hpp"

namespace symgrad {

/// A model input: its name (the feed's) and one example's type (the batch dimension is added).
struct ModelInput {
  std::string name;
  TensorType example;
};

/// A loss term: the loss plugin `loss` (plugins/losses/, plugin/loss.hpp) with `settings`, of the
/// output `output` against the target `target`, weighted by `weight` in the model's loss (the sum of the weighted terms). The target is a model
/// input when one has that name (an autoencoder's target is its input), else a feed of its own
/// (integer classes [N] for classification, else the output's type).
struct LossSpec {
  LossSpec(std::string output_name, std::string loss_name = "softmax_cross_entropy", Settings loss_settings = {},
           std::string target_name = "y", double term_weight = 1)
      : output(std::move(output_name)), loss(std::move(loss_name)), settings(std::move(loss_settings)),
        target(std::move(target_name)), weight(term_weight) {}
  std::string output;
  std::string loss = "softmax_cross_entropy";
  Settings settings;
  std::string target = "y";
  double weight = 1;
};

/// One mode of a model, built into a graph.
struct BuiltModel {
  NamedValues inputs;   ///< the graph inputs, by model input name
  NamedValues outputs;  ///< the body's outputs, by name
  NamedValues targets;  ///< the losses' targets, by target name (a model input's value, or a feed)
  /// One per LossSpec, in order: the term's mean over the batch (unweighted).
  std::vector<Value> loss_terms;
  /// One per LossSpec: the term's per-example values [N].
  std::vector<Value> per_example;
  /// One per LossSpec: the output's task (classification, multilabel, regression).
  std::vector<Task> tasks;
  Value loss;  ///< sum of weight * term: the data loss
  /// Parameters, state, random inputs, state updates and layer penalties; `logits` is the first
  /// loss's output.
  Forward forward;
  std::vector<LayerCall> layers;  ///< every layer call, in order
};

class Model {
 public:
  using Body = std::function<NamedValues(ModelScope& scope, const NamedValues& inputs)>;

  /// Adds an input named `name` (the feed's name) whose examples are of type `example`.
  Model& input(const std::string& name, TensorType example);
  /// The function from the inputs to the outputs.
  Model& body(Body body);
  /// Adds a loss term.
  Model& loss(LossSpec spec);

  const std::vector<ModelInput>& inputs() const { return inputs_; }
  const std::vector<LossSpec>& losses() const { return losses_; }
  bool empty() const { return !body_; }

  /// Builds the model in `mode` into `graph`: a graph input per model input ([N, ...] of `dtype`
  /// when the example's type is floating), the body, and the loss terms with their targets. Every
  /// hook sees each layer's output (LayerOutput::last for the layers that give an output). Checks
  /// (UsageError or ShapeError naming what is at fault): an input the body never reads, a loss on
  /// an output the body does not give, an output without a loss, a target of the wrong type.
  BuiltModel build(Graph& graph, Mode mode, DType dtype, const std::vector<Extension*>& hooks = {}) const;
  /// The layer calls of one inference build, one a line: name, description, inputs, output type.
  std::string summary(DType dtype = DType::f32) const;
  /// The multiply-adds of one example's inference pass: each matmul and convolution whose first
  /// input has the open batch dimension (a dense layer's [N, K] x [K, M]: K M; a convolution: its
  /// output's elements per example times C_in kh kw). A measure of the model's work: a training
  /// step is about 3 x batch x this (symgrad train chooses its thread count from it).
  std::int64_t multiply_adds_per_example() const;

 private:
  std::vector<ModelInput> inputs_;
  Body body_;
  std::vector<LossSpec> losses_;
};

class Sequential {
 public:
  /// A dense layer: y = x W + b (W [in, units] named "denseK/W", b "denseK/b"), then `activation`
  /// (train/layers.hpp: relu, tanh, ..., or a registered op of one input).
  Sequential& dense(std::int64_t units, const std::string& activation = "none");
  Sequential& activation(const std::string& name);
  /// Inverted dropout: units dropped with probability p in training, the rest scaled by 1 / (1 - p);
  /// nothing in inference.
  Sequential& dropout(double p);
  /// [N, ...] to [N, features].
  Sequential& flatten();
  /// A 2-D convolution over [N, C, H, W]: `filters` kernels of kernel x kernel ("convK/W"
  /// [filters, C, kernel, kernel], "convK/b"), then `activation`.
  Sequential& conv2d(std::int64_t filters, std::int64_t kernel, std::int64_t stride = 1, std::int64_t padding = 0,
                     const std::string& activation = "none");
  /// Max or average pooling over kernel x kernel windows (stride: the kernel when 0).
  Sequential& max_pool(std::int64_t kernel, std::int64_t stride = 0);
  Sequential& avg_pool(std::int64_t kernel, std::int64_t stride = 0);
  /// Batch normalization over the batch (and H, W): scale "bnK/gamma", shift "bnK/beta"; running
  /// mean and variance ("bnK/running_mean", "bnK/running_var", unbiased) follow
  /// r = (1 - momentum) r + momentum batch in training, and normalize at inference (torch's
  /// BatchNorm semantics). `sync`: in data-parallel training, the statistics of the whole batch,
  /// summed over the processes (torch.nn.SyncBatchNorm; plugin/layers.hpp); else each process's own.
  Sequential& batch_norm(double momentum = 0.1, double eps = 1e-5, bool sync = false);
  /// Layer normalization over each example ("lnK/gamma", "lnK/beta").
  Sequential& layer_norm(double eps = 1e-5);

  /// The layers applied in turn to x, as a body: x -> the last layer's output.
  Value apply(ModelScope& scope, Value x) const;
  /// A Model of one input `input` (examples of type `example`) and one output "logits", with the
  /// loss `loss` against the target "y" (softmax cross-entropy: a classifier).
  Model to_model(TensorType example, const std::string& loss = "softmax_cross_entropy",
                 const std::string& input = "x") const;
  /// Builds the layers on x ([N, ...], N open) into x's graph. Each hook's on_layer_output sees
  /// every layer's output (and a dense or conv layer's output before its activation), in the
  /// order given, and may replace it.
  Forward build(Value x, Mode mode, const std::vector<Extension*>& hooks = {}) const;
  /// "dense(16, relu) -> dropout(0.5) -> dense(2)".
  std::string to_string() const;
  bool empty() const { return layers_.empty(); }
  const std::vector<std::shared_ptr<const Layer>>& layers() const { return layers_; }

 private:
  // A layer named <prefix><k> (dense1, dense2, conv1, ...), checked by its own constructor; the
  // count moves only once it is made.
  template <class L, class... Args>
  Sequential& emplace(const std::string& prefix, Args&&... args) {
    int& count = counts_[prefix];
    layers_.push_back(std::make_shared<L>(prefix + std::to_string(count + 1), std::forward<Args>(args)...));
    ++count;
    return *this;
  }
  std::vector<std::shared_ptr<const Layer>> layers_;
  std::map<std::string, int> counts_;  // layers of each kind so far: dense1, dense2, conv1, ...
};

}  // namespace symgrad
