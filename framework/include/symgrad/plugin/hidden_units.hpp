#pragma once
/// @file
/// Which layer outputs a regularizer that acts on hidden units takes (the dropout, noise and
/// activation-penalty plugins use it): a hidden unit's value after its activation, whose layer's name matches a glob.
/// That is the output of a dense or conv layer with an activation of its own, or of an activation
/// layer (after conv -> batch_norm -> activation, the activation's); never a model output (the
/// logits), nor a layer's affine output before its activation.

#include <string>

#include "symgrad/plugin/extension.hpp"
#include "symgrad/plugin/optimizer.hpp"  // name_matches

namespace symgrad {

inline bool hidden_output(const LayerOutput& out, const std::string& layers) {
  const bool activated = out.kind == "activation" || ((out.kind == "dense" || out.kind == "conv2d") && out.activation != "none");
  return out.stage == LayerOutput::Stage::output && !out.last && activated && name_matches(layers, out.layer);
}

}  // namespace symgrad
