#pragma once
// What `symgrad landscape` computes besides the plots (commands/landscape.cpp): the samples it
// measures on and the plane's random direction.

#include <cstdint>
#include <vector>

#include "symgrad/data/dataset.hpp"
#include "symgrad/train/trainer.hpp"

namespace symgrad::cli {

/// A seeded sample of at most n examples of `d` (all of them when n is 0 or larger), in order.
Dataset sample(const Dataset& d, std::int64_t n, std::uint64_t seed);

/// A random direction normalized filter by filter to the trained parameters' filters (Li et al.,
/// "Visualizing the Loss Landscape of Neural Nets", 2018): a filter is a dense weight's column (the
/// weights into one unit: W is [in, out]) or a convolution's output channel (the first axis of
/// [O, I, kh, kw]); parameters that do not start from the initializer (biases, normalization
/// scales and shifts) get 0. Then made orthogonal to u and scaled to u's norm (when u is not 0),
/// so that both axes of the plane have the same unit. `trained` and `u` are laid out as `params`.
std::vector<double> filter_normalized(const std::vector<Trainer::Parameter>& params, const std::vector<double>& trained,
                                      const std::vector<double>& u, std::uint64_t seed);

}  // namespace symgrad::cli
