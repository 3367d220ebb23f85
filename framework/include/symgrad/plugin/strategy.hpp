#pragma once
/// @file
/// The strategy interface: an Extension (extension.hpp) that changes how training proceeds rather
/// than what it minimizes: model rewrites (batch normalization), which parameters a step changes
/// (coordinate descent), averaged iterates used for evaluation (Polyak), the order of the data
/// (curriculum).

#include "symgrad/plugin/extension.hpp"

namespace symgrad {

/// A training strategy: every extension point of Extension, none required.
class Strategy : public Extension {};

}  // namespace symgrad
