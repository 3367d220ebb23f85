#pragma once
/// @file
/// The Communicator over MPI (Open MPI from Debian): MPI_Allreduce for sums, MPI_Bcast for
/// parameters. Library symgrad::mpi, apart from symgrad::symgrad so that a program that does not
/// train over MPI does not link MPI.

#include <memory>

#include "symgrad/train/communicator.hpp"

namespace symgrad {

/// True when this process was started by mpirun (Open MPI's environment) as one of more than one.
bool launched_by_mpirun();

class MpiCommunicator final : public Communicator {
 public:
  /// Initializes MPI (once per process; finalized by the destructor). Errors in MPI calls are
  /// returned to symgrad, which raises them as symgrad::Error naming the call and the rank.
  MpiCommunicator();
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduce_sum(float* data, std::size_t n) override;
  void allreduce_sum(double* data, std::size_t n) override;
  void allreduce_min_max(double& min, double& max) override;
  void broadcast(void* data, std::size_t bytes, int root) override;
  std::string describe() const override;
  /// Ends every process of the job with `code` (MPI_Abort): what a rank does on an error, so that
  /// the others do not wait for it in a collective call.
  [[noreturn]] void abort(int code);

 private:
  int rank_ = 0, size_ = 1;
};

}  // namespace symgrad
