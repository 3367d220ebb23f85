#pragma once
// The limit of the CNN benchmark: one SGD training step of the benchmark's CNN (models.hpp's
// cnn_step, the PyTorch peer's cnn()) written directly on oneDNN, as an engineer would by hand:
// primitives built once in the layouts they choose, weights kept in the forward convolution's
// layout, bias and ReLU as post-ops, the convolutions' bias gradients from their backward-weights
// primitives, the dense layers' gradients by matmuls of transposed descriptors; no framework.

#include <cstdint>
#include <memory>

namespace symgrad::bench {

class HandwrittenCnn {
 public:
  /// conv 1->32 3x3, relu, max-pool 2; conv 32->64 3x3, relu, max-pool 2; dense 1600->128, relu;
  /// dense 128->10; softmax cross-entropy; 28x28 inputs.
  HandwrittenCnn(std::int64_t batch, float lr);
  ~HandwrittenCnn();
  /// One step on x [batch, 1, 28, 28] and labels [batch]; returns the mean loss.
  float step(const float* x, const std::int32_t* labels);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace symgrad::bench
