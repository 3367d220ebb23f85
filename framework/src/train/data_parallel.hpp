#pragma once
// Data-parallel training (TrainerOptions::communicator, docs/distributed.md), for the Trainer's loop:
// each rank's rows of a batch, the start that makes every rank train the same thing, one step over
// the ranks, and a host-driven optimizer's objective summed over them. Internal to
// framework/src/train.

#include <cstdint>
#include <utility>
#include <vector>

#include "symgrad/runtime/communicator.hpp"
#include "symgrad/plugin/objective.hpp"
#include "metrics.hpp"
#include "trainer_impl.hpp"

namespace symgrad::trainer_detail {

/// Rows [lo, hi) of a global batch of `size` are this rank's: the first size % ranks ranks take
/// one more.
std::pair<std::int64_t, std::int64_t> shard_of(std::int64_t size, int rank, int ranks);
/// Rows [lo, hi) of t (a copy).
Tensor rows_of(const Tensor& t, std::int64_t lo, std::int64_t hi);
/// Before the first step: every rank must train the same thing, and starts from rank 0's variables.
void start_data_parallel(Trainer::Impl& m, Communicator& comm, const Dataset& train, std::int64_t batch,
                         VariableStore& store);
/// One step over this rank's rows of the batch, its gradients summed over the ranks; the outputs in
/// the one-process plan's layout (loss, objective, first output, gradient norms), `score` the
/// batch's over every rank.
std::vector<Tensor> data_parallel_step(Trainer::Impl& m, Communicator& comm, const Feeds& feeds, std::int64_t size,
                                       VariableStore& store, double cap_bytes, Score& score, double& comm_seconds);

// A host-driven optimizer's full-batch objective over the ranks: each evaluates the mean over its
// shard of the training set, weighted by its share, and the values, gradients and products are
// summed over the ranks (every rank gets the same bits, so every rank's optimizer takes the same
// path).
class ShardedObjective final : public Objective {
 public:
  ShardedObjective(Objective& local, double share, Communicator& comm) : local_(local), share_(share), comm_(comm) {}
  std::size_t size() const override { return local_.size(); }
  double value(const std::vector<double>& x) override {
    double v = share_ * local_.value(x);
    comm_.allreduce_sum(&v, 1);
    return v;
  }
  double value_and_grad(const std::vector<double>& x, std::vector<double>& grad) override {
    const double v = local_.value_and_grad(x, grad);
    grad.push_back(v);
    for (double& g : grad) g *= share_;
    comm_.allreduce_sum(grad.data(), grad.size());
    const double sum = grad.back();
    grad.pop_back();
    return sum;
  }
  void hessian_vector_product(const std::vector<double>& x, const std::vector<double>& v,
                              std::vector<double>& hv) override {
    local_.hessian_vector_product(x, v, hv);
    sum(hv);
  }
  void hessian(const std::vector<double>& x, std::vector<double>& h) override {
    local_.hessian(x, h);
    sum(h);
  }

 private:
  void sum(std::vector<double>& v) {
    for (double& e : v) e *= share_;
    comm_.allreduce_sum(v.data(), v.size());
  }
  Objective& local_;
  double share_;
  Communicator& comm_;
};

}  // namespace symgrad::trainer_detail
