#pragma once
// The limit the framework is measured against: one SGD training step of an MLP written directly
// on oneDNN (primitives built once, bias and ReLU fused as post-ops, gradients by matmuls of
// transposed memory descriptors), with no framework in between.

#include <cstdint>
#include <memory>
#include <vector>

namespace symgrad::bench {

class HandwrittenMlp {
 public:
  /// Layer widths, e.g. {784, 1024, 1024, 10}; ReLU between layers; softmax cross-entropy.
  HandwrittenMlp(std::vector<std::int64_t> widths, std::int64_t batch, float lr);
  ~HandwrittenMlp();
  /// One step on x [batch, widths[0]] and labels [batch]; returns the mean loss.
  float step(const float* x, const std::int32_t* labels);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace symgrad::bench
