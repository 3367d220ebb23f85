#pragma once
// Non-finite values in a training step (TrainerOptions::nan_policy): finding them in a step's
// results, keeping the variables a step writes so that a bad step can be undone, and naming the
// first node of the step's graph that produced one. Internal to framework/src/train.

#include <string>
#include <utility>
#include <vector>

#include "symgrad/runtime/plan.hpp"
#include "symgrad/runtime/variable_store.hpp"

namespace symgrad::trainer_detail {

/// Whether every element of a floating tensor is finite (integers always are). One pass, no branch
/// per element.
bool all_finite(const Tensor& t);

/// The index of the first non-finite element of `t` (-1: none).
std::int64_t first_non_finite(const Tensor& t);

/// Copies of the variables a step writes, taken before it runs and put back when it is undone.
/// The copies are allocated once; taking and restoring them copies bytes only.
class StepSnapshot {
 public:
  void take(const VariableStore& store, const std::vector<std::string>& names);
  void restore(VariableStore& store) const;

 private:
  std::vector<std::pair<std::string, Tensor>> saved_;
};

/// Reruns a step's forward pass, gradients and updates with every op's output kept (nothing is
/// written back: `store` must hold the state before the step) and describes the first node, in
/// the graph's order, whose output holds a NaN or an infinity: its label, op, shape, what it is
/// (forward, gradient, update of a variable) and its inputs. Empty when every value is finite.
std::string describe_first_non_finite(Graph& graph, const std::vector<Value>& roots,
                                      const std::map<std::string, Value>& updates, const std::string& backend,
                                      Precision precision, const Feeds& feeds, VariableStore& store);

}  // namespace symgrad::trainer_detail
