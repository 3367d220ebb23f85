#pragma once
/// @file
/// Elementwise ops declared by a formula (OpDef::formula): the check that the chain compiler can
/// run one, made when an op is registered (the plugin loader refuses a plugin whose formula it
/// cannot run, naming the op and the step).

#include <string>

#include "symgrad/graph/op_def.hpp"

namespace symgrad {

/// "" when `op`'s formula is one the chain compiler runs (known ops, the right number of
/// arguments, each an input of the op or an earlier step), else what is wrong with which step.
std::string formula_error(const OpDef& op);

}  // namespace symgrad
