#pragma once
/// @file
/// Everything a user of the core needs: tensors, the graph and its builder API, symbolic
/// differentiation, gradient checking, compiling and running plans.

#include "symgrad/autodiff/gradcheck.hpp"
#include "symgrad/autodiff/gradients.hpp"
#include "symgrad/core/error.hpp"
#include "symgrad/core/tensor.hpp"
#include "symgrad/graph/graph.hpp"
#include "symgrad/graph/op_registry.hpp"
#include "symgrad/ops/ops.hpp"
#include "symgrad/runtime/kernel.hpp"
#include "symgrad/runtime/plan.hpp"
#include "symgrad/runtime/threads.hpp"
#include "symgrad/runtime/variable_store.hpp"
