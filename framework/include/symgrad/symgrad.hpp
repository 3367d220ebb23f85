#pragma once
/// @file
/// Everything an app needs: tensors, the graph and its builder API, symbolic differentiation,
/// gradient checking, compiling and running plans, data sets, plugins and their registry, models,
/// losses, the Trainer and experiment files. (symgrad::mpi's MpiCommunicator is the one public
/// header not here: <symgrad/mpi/mpi_communicator.hpp>, for programs that link symgrad::mpi.)

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
#include "symgrad/core/random.hpp"
#include "symgrad/data/csv.hpp"
#include "symgrad/data/dataset.hpp"
#include "symgrad/data/idx.hpp"
#include "symgrad/data/npy.hpp"
#include "symgrad/data/synthetic.hpp"
#include "symgrad/io/variables_file.hpp"
#include "symgrad/plugin/registry.hpp"
#include "symgrad/train/experiment.hpp"
#include "symgrad/train/layers.hpp"
#include "symgrad/train/model.hpp"
#include "symgrad/train/trainer.hpp"
