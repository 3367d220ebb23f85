#pragma once
/// @file
/// GraphObjective: the Objective of a scalar loss in a graph with respect to some of its
/// variables, evaluated by compiled plans (value, value and gradient, Hessian-vector product, dense
/// Hessian), for host-driven optimizers and `symgrad minimize`.

#include <memory>
#include <string>
#include <vector>

#include "symgrad/graph/graph.hpp"
#include "symgrad/plugin/components.hpp"
#include "symgrad/runtime/plan.hpp"
#include "symgrad/runtime/variable_store.hpp"

namespace symgrad {

class GraphObjective final : public Objective {
 public:
  /// `loss` a scalar of `graph`; `params` variables of it (their values in `store` are the
  /// starting point and receive x at each evaluation); `feeds` its inputs (fixed: a full batch).
  GraphObjective(Graph& graph, Value loss, std::vector<Value> params, VariableStore& store, Feeds feeds = {},
                 const std::string& backend = "reference");
  ~GraphObjective() override;

  std::size_t size() const override { return n_; }
  double value(const std::vector<double>& x) override;
  double value_and_grad(const std::vector<double>& x, std::vector<double>& grad) override;
  void hessian_vector_product(const std::vector<double>& x, const std::vector<double>& v,
                              std::vector<double>& hv) override;
  void hessian(const std::vector<double>& x, std::vector<double>& h) override;

  /// The parameters' current values in the store, flattened in order.
  std::vector<double> current() const;
  /// Writes x into the store's parameters.
  void assign(const std::vector<double>& x);
  /// Number of plan runs so far, by kind.
  std::size_t value_calls = 0, gradient_calls = 0, hvp_calls = 0, hessian_calls = 0;

 private:
  Graph* graph_;
  Value loss_;
  std::vector<Value> params_;
  VariableStore* store_;
  Feeds feeds_;
  std::string backend_;
  std::size_t n_ = 0;
  std::unique_ptr<Plan> value_plan_, grad_plan_, hvp_plan_, hessian_plan_;
};

}  // namespace symgrad
