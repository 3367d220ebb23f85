#pragma once
// The training steps the benchmarks run, written with the framework's C++ API: the graph of
// forward, loss, gradients and the SGD update, compiled into one plan.

#include <memory>
#include <string>
#include <vector>

#include "symgrad/symgrad.hpp"

namespace symgrad::bench {

/// A compiled training step with its variables and a batch of synthetic data.
struct TrainStep {
  std::unique_ptr<Graph> graph = std::make_unique<Graph>();
  std::unique_ptr<Plan> plan;
  VariableStore store;
  Feeds feeds;
  /// Runs one step; returns the loss.
  double run() { return plan->run(feeds, &store)[0].get(0); }
};

/// The loss of an MLP with ReLU and softmax cross-entropy on a fixed synthetic batch, f32, with its
/// parameters: for host-driven optimizers (TrainStep::plan is not set).
struct MlpLoss {
  TrainStep parts;
  Value loss;
  std::vector<Value> params;
};
MlpLoss mlp_loss(const std::vector<std::int64_t>& widths, std::int64_t batch);

/// An MLP with ReLU, softmax cross-entropy and plain SGD (lr 0.01), f32.
TrainStep mlp_step(const std::vector<std::int64_t>& widths, std::int64_t batch,
                   const std::string& backend, Precision precision = Precision::f32);
/// conv 1->32 3x3, relu, max-pool 2; conv 32->64 3x3, relu, max-pool 2; dense 1600->128, relu;
/// dense 128->10; softmax cross-entropy, SGD; 28x28 inputs, f32.
TrainStep cnn_step(std::int64_t batch, const std::string& backend, Precision precision = Precision::f32);

}  // namespace symgrad::bench
