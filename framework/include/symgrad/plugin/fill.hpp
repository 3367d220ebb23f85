#pragma once
/// @file
/// Initializers from a random draw (the built-in initializer plugins use them): a tensor of the requested type filled from a seeded stream
/// that depends on the seed and the parameter's name (so adding a layer does not change the others).

#include <functional>

#include "symgrad/core/random.hpp"
#include "symgrad/plugin/initializer.hpp"

namespace symgrad {

inline Tensor filled(const InitRequest& r, const std::function<double(Random&)>& draw) {
  Tensor t(r.type);
  Random rng(derive_seed(r.seed, r.name));
  for (std::int64_t i = 0; i < t.numel(); ++i) t.set(i, draw(rng));
  return t;
}

/// An initializer from a function of the request and the stream.
class DrawInitializer final : public Initializer {
 public:
  explicit DrawInitializer(std::function<double(const InitRequest&, Random&)> draw) : draw_(std::move(draw)) {}
  Tensor initial_value(const InitRequest& r) override {
    return filled(r, [&](Random& rng) { return draw_(r, rng); });
  }

 private:
  std::function<double(const InitRequest&, Random&)> draw_;
};

}  // namespace symgrad
