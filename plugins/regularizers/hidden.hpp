#pragma once
// Which layer outputs the regularizers that act on hidden units (dropout, noise, activation
// penalties) take: the output of a dense or conv layer (after its activation) that is not the
// last layer (the logits), whose name matches a glob.

#include <string>

#include <symgrad/plugin/plugin.hpp>

namespace symgrad::plugins {

inline bool hidden_output(const LayerOutput& out, const std::string& layers) {
  return out.stage == LayerOutput::Stage::output && !out.last && (out.kind == "dense" || out.kind == "conv2d") &&
         name_matches(layers, out.layer);
}

}  // namespace symgrad::plugins
