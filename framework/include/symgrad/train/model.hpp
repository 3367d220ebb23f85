#pragma once
/// @file
/// Sequential models: a list of layers that builds its forward pass into a graph for one mode.
/// The trainer builds it twice from the same description, once for training (dropout active)
/// and once for inference (dropout off), over the same named variables: the mode cannot be
/// forgotten.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "symgrad/graph/graph.hpp"
#include "symgrad/plugin/extension.hpp"

namespace symgrad {

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

  /// Builds the layers on x ([N, ...], N open) into x's graph. Each hook's on_layer_output sees
  /// every layer's output (and a dense or conv layer's output before its activation), in the
  /// order given, and may replace it.
  Forward build(Value x, Mode mode, const std::vector<Extension*>& hooks = {}) const;
  /// "dense(16, relu) -> dropout(0.5) -> dense(2)".
  std::string to_string() const;
  bool empty() const { return layers_.empty(); }

 private:
  struct Layer {
    enum Kind { dense, activation, dropout, flatten, conv2d, max_pool, avg_pool, batch_norm } kind;
    std::int64_t units = 0;         // dense units, conv filters
    std::string function = "none";  // the activation
    double p = 0;                   // dropout probability, batch-norm momentum
    std::int64_t kernel = 0, stride = 1, padding = 0;
    double eps = 1e-5;
    bool sync = false;  // batch norm: statistics summed over the processes
  };
  std::vector<Layer> layers_;
};

/// f(x) for an activation name; throws UsageError for an unknown one.
Value activate(Value x, const std::string& name);

}  // namespace symgrad
