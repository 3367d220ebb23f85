#pragma once
/// @file
/// Sequential models: a list of layers that builds its forward pass into a graph for one mode.
/// The trainer builds it twice from the same description, once for training (dropout active)
/// and once for inference (dropout off), over the same named variables: the mode cannot be
/// forgotten.

#include <cstdint>
#include <string>
#include <vector>

#include "symgrad/graph/graph.hpp"

namespace symgrad {

enum class Mode { train, eval };

/// A parameter the model declares, with what an initializer needs to know.
struct ParamInfo {
  Value value;               ///< the variable
  std::int64_t fan_in = 1;   ///< inputs of one unit
  std::int64_t fan_out = 1;  ///< units fed by one input
  bool bias = false;         ///< biases start at zero
};

/// A dropout mask the model reads in training mode: an input of the graph, 1 to keep a unit,
/// 0 to drop it, drawn by the trainer for each step.
struct MaskInput {
  std::string name;  ///< the graph input, e.g. "dropout2/mask"
  Value value;
  double p = 0;      ///< probability of dropping
};

/// The forward pass built for one mode.
struct Forward {
  Value logits;
  std::vector<ParamInfo> params;
  std::vector<MaskInput> masks;  ///< empty in eval mode
};

class Sequential {
 public:
  /// A dense layer: y = x W + b (W [in, units] named "denseK/W", b "denseK/b"), then `activation`
  /// (none, relu, tanh, sigmoid, leaky_relu, softplus).
  Sequential& dense(std::int64_t units, const std::string& activation = "none");
  Sequential& activation(const std::string& name);
  /// Inverted dropout: units dropped with probability p in training, the rest scaled by 1 / (1 - p);
  /// nothing in inference.
  Sequential& dropout(double p);
  /// [N, ...] to [N, features].
  Sequential& flatten();

  /// Builds the layers on x ([N, ...], N open) into x's graph.
  Forward build(Value x, Mode mode) const;
  /// "dense(16, relu) -> dropout(0.5) -> dense(2)".
  std::string to_string() const;
  bool empty() const { return layers_.empty(); }

 private:
  struct Layer {
    enum Kind { dense, activation, dropout, flatten } kind;
    std::int64_t units = 0;
    std::string function = "none";  // the activation
    double p = 0;
  };
  std::vector<Layer> layers_;
};

/// f(x) for an activation name; throws UsageError for an unknown one.
Value activate(Value x, const std::string& name);

}  // namespace symgrad
