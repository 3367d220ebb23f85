#pragma once
/// @file
/// What data-parallel training needs from a transport: the processes of a job (ranks), sums over
/// all of them, and one rank's bytes sent to all. The Trainer takes one in TrainerOptions, and a
/// plan compiled with one runs the ops that sum over the ranks (`cross_replica_sum`); the MPI one
/// (`symgrad/mpi/mpi_communicator.hpp`, library symgrad::mpi) is what `mpirun -np N symgrad train`
/// uses. Every call is collective: every rank makes the same calls in the same order, with
/// buffers of the same size.

#include <cstddef>
#include <cstdint>
#include <string>

namespace symgrad {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Replaces `data[0..n)` on every rank by the sum over the ranks; every rank gets the same bits.
  virtual void allreduce_sum(float* data, std::size_t n) = 0;
  virtual void allreduce_sum(double* data, std::size_t n) = 0;
  /// Starts the sum of `data[0..n)` over the ranks and returns at once (the gradient buckets that
  /// are summed while the backward pass goes on); the sum is in `data` once wait_all() returns,
  /// and the buffer is not to be touched before. Sums finish in the order they were started. The
  /// default sums at once.
  virtual void start_allreduce_sum(float* data, std::size_t n) { allreduce_sum(data, n); }
  virtual void start_allreduce_sum(double* data, std::size_t n) { allreduce_sum(data, n); }
  /// Lets the started sums advance without waiting (MPI moves them on only inside its calls).
  virtual void progress() {}
  /// Returns when every started sum is done.
  virtual void wait_all() {}
  /// The smallest and largest of `value` over the ranks (consistency checks).
  virtual void allreduce_min_max(double& min, double& max) = 0;
  /// Rank `root`'s `bytes` bytes at `data` copied to every rank.
  virtual void broadcast(void* data, std::size_t bytes, int root) = 0;
  /// A short description for messages ("MPI rank 1 of 3 on host").
  virtual std::string describe() const = 0;

  /// Whether every rank passed the same `fingerprint` (a count, a hash: compared on its low 52
  /// bits, which a double holds exactly). Collective.
  bool all_equal(std::uint64_t fingerprint) {
    double lo = static_cast<double>(fingerprint % (1ull << 52)), hi = lo;
    allreduce_min_max(lo, hi);
    return lo == hi;
  }
  /// Whether any rank passed true (a stop asked on one rank is every rank's). Collective.
  bool any(bool flag) {
    double count = flag ? 1 : 0;
    allreduce_sum(&count, 1);
    return count > 0;
  }
};

}  // namespace symgrad
