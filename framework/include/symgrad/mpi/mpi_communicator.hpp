#pragma once
/// @file
/// The Communicator over MPI (Open MPI from Debian): MPI_Iallreduce for sums, MPI_Ibcast for
/// parameters, each waited for with a deadline. Library symgrad::mpi, apart from symgrad::symgrad
/// so that a program that does not train over MPI does not link MPI.

#include <chrono>
#include <memory>

#include "symgrad/runtime/communicator.hpp"

namespace symgrad {

/// True when this process was started by mpirun (Open MPI's environment) as one of more than one.
bool launched_by_mpirun();

class MpiCommunicator final : public Communicator {
 public:
  /// Initializes MPI (once per process; finalized by the destructor of the communicator that
  /// initialized it, so that more communicators, with other timeouts, can come and go). Errors in MPI calls are
  /// returned to symgrad, which raises them as symgrad::Error naming the call and the rank.
  /// `timeout`: how long a collective call may wait for the other ranks before it fails with an
  /// error saying so (MPI itself waits forever for a rank that hangs without dying). The default
  /// is torch.distributed's, 30 minutes.
  explicit MpiCommunicator(std::chrono::duration<double> timeout = std::chrono::minutes(30));
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  void allreduce_sum(float* data, std::size_t n) override;
  void allreduce_sum(double* data, std::size_t n) override;
  void start_allreduce_sum(float* data, std::size_t n) override;
  void start_allreduce_sum(double* data, std::size_t n) override;
  void progress() override;
  void wait_all() override;
  void allreduce_min_max(double& min, double& max) override;
  void broadcast(void* data, std::size_t bytes, int root) override;
  std::string describe() const override;
  /// Ends every process of the job with `code` (MPI_Abort): what a rank does on an error, so that
  /// the others do not wait for it in a collective call.
  [[noreturn]] void abort(int code);

 private:
  int rank_ = 0, size_ = 1;
  bool owns_mpi_ = false;
  std::chrono::duration<double> timeout_;
  struct Pending;  // the started requests (MPI types stay out of this header)
  std::unique_ptr<Pending> pending_;
};

}  // namespace symgrad
