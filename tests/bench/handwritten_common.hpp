#pragma once
// What the hand-written oneDNN programs (the benchmarks' limits) share: a primitive with its
// bound arguments, and one training step's frame: forward primitives, softmax cross-entropy on
// the host (its loss and the logits' gradient), backward primitives.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace symgrad::bench::handwritten {

struct Call {
  dnnl::primitive p;
  std::unordered_map<int, dnnl::memory> args;
};

/// Runs `forward`; from logits [n, classes] and labels writes dlogits = (softmax - onehot) / n;
/// runs `backward`; returns the mean loss.
inline float step(dnnl::stream& s, std::vector<Call>& forward, std::vector<Call>& backward, const float* logits,
                  float* dlogits, const std::int32_t* labels, std::int64_t n, std::int64_t classes) {
  for (auto& c : forward) c.p.execute(s, c.args);
  s.wait();
  float loss = 0.f;
  for (std::int64_t i = 0; i < n; ++i) {
    const float* z = logits + i * classes;
    const float m = *std::max_element(z, z + classes);
    float total = 0.f;
    for (std::int64_t j = 0; j < classes; ++j) total += std::exp(z[j] - m);
    const float lse = m + std::log(total);
    loss += lse - z[labels[i]];
    for (std::int64_t j = 0; j < classes; ++j) {
      dlogits[i * classes + j] = (std::exp(z[j] - lse) - (j == labels[i] ? 1.f : 0.f)) / static_cast<float>(n);
    }
  }
  for (auto& c : backward) c.p.execute(s, c.args);
  s.wait();
  return loss / static_cast<float>(n);
}

}  // namespace symgrad::bench::handwritten
