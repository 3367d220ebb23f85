#include "symgrad/mpi/mpi_communicator.hpp"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "symgrad/core/error.hpp"

namespace symgrad {

namespace {

void check(int code, const char* call, int rank) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(fmt::format("{} failed on MPI rank {}: {}", call, rank, std::string(text, static_cast<std::size_t>(length))));
}

// MPI counts are ints: large buffers go in pieces.
template <class F>
void in_pieces(std::size_t n, F f) {
  constexpr std::size_t kPiece = static_cast<std::size_t>(INT_MAX) / 8;
  for (std::size_t at = 0; at < n; at += kPiece) f(at, static_cast<int>(std::min(kPiece, n - at)));
}

}  // namespace

// Every collective is started non-blocking and waited for here, against the deadline: MPI's
// blocking calls would wait forever for a rank that hangs without dying.
struct MpiCommunicator::Pending {
  std::vector<MPI_Request> requests;
  std::vector<std::pair<const char*, std::size_t>> calls;  // what they are (formatted only on a timeout)
  void add(const char* what, std::size_t n) { calls.emplace_back(what, n); }
  std::string describe() const {
    std::string s;
    for (const auto& [what, n] : calls) s += fmt::format("{}{}", s.empty() ? "" : ", ", fmt::format(fmt::runtime(what), n));
    return s;
  }
};

bool launched_by_mpirun() {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  return size != nullptr && std::atoi(size) > 1;
}

MpiCommunicator::MpiCommunicator(std::chrono::duration<double> timeout)
    : timeout_(timeout), pending_(std::make_unique<Pending>()) {
  if (!(timeout.count() > 0)) throw UsageError(fmt::format("the MPI timeout must be > 0 seconds, got {}", timeout.count()));
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // Open MPI's non-blocking allreduce (libnbc) picks a binomial tree by default: a reduce to
    // rank 0 and a broadcast back, twice the ring's time for the gradients' sizes (measured in
    // docs/distributed.md). The ring, unless the user chose (mpirun --mca ... or the environment).
    ::setenv("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "1", 0);
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    owns_mpi_ = true;
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiCommunicator::~MpiCommunicator() {
  if (!owns_mpi_) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiCommunicator::start_allreduce_sum(float* data, std::size_t n) {
  in_pieces(n, [&](std::size_t at, int count) {
    MPI_Request r;
    check(MPI_Iallreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r), "MPI_Iallreduce", rank_);
    pending_->requests.push_back(r);
  });
  pending_->add("a sum of {} floats", n);
}

void MpiCommunicator::start_allreduce_sum(double* data, std::size_t n) {
  in_pieces(n, [&](std::size_t at, int count) {
    MPI_Request r;
    check(MPI_Iallreduce(MPI_IN_PLACE, data + at, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &r), "MPI_Iallreduce", rank_);
    pending_->requests.push_back(r);
  });
  pending_->add("a sum of {} doubles", n);
}

void MpiCommunicator::progress() {
  if (pending_->requests.empty()) return;
  int done = 0;
  check(MPI_Testall(static_cast<int>(pending_->requests.size()), pending_->requests.data(), &done, MPI_STATUSES_IGNORE),
        "MPI_Testall", rank_);
  if (done) pending_->requests.clear(), pending_->calls.clear();
}

void MpiCommunicator::wait_all() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout_);
  while (!pending_->requests.empty()) {
    progress();
    if (!pending_->requests.empty() && std::chrono::steady_clock::now() > deadline) {
      // the requests stay pending: the caller ends the job (MPI_Abort), which no rank can refuse
      throw Error(fmt::format("{} ({}) waited {} s for the other processes: one of them hangs or is stopped "
                              "(the limit is the timeout of the MPI communicator: symgrad train --comm-timeout)",
                              describe(), pending_->describe(), timeout_.count()));
    }
  }
}

void MpiCommunicator::allreduce_sum(float* data, std::size_t n) {
  start_allreduce_sum(data, n);
  wait_all();
}

void MpiCommunicator::allreduce_sum(double* data, std::size_t n) {
  start_allreduce_sum(data, n);
  wait_all();
}

void MpiCommunicator::allreduce_min_max(double& min, double& max) {
  MPI_Request r[2];
  check(MPI_Iallreduce(MPI_IN_PLACE, &min, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD, &r[0]), "MPI_Iallreduce", rank_);
  check(MPI_Iallreduce(MPI_IN_PLACE, &max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD, &r[1]), "MPI_Iallreduce", rank_);
  pending_->requests.insert(pending_->requests.end(), r, r + 2);
  pending_->add("a minimum and a maximum of {} value", 1);
  wait_all();
}

void MpiCommunicator::broadcast(void* data, std::size_t bytes, int root) {
  in_pieces(bytes, [&](std::size_t at, int count) {
    MPI_Request r;
    check(MPI_Ibcast(static_cast<char*>(data) + at, count, MPI_BYTE, root, MPI_COMM_WORLD, &r), "MPI_Ibcast", rank_);
    pending_->requests.push_back(r);
  });
  pending_->add(root == 0 ? "a broadcast of {} bytes from rank 0" : "a broadcast of {} bytes", bytes);
  wait_all();
}

void MpiCommunicator::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // (MPI_Abort does not return)
}

std::string MpiCommunicator::describe() const {
  char host[MPI_MAX_PROCESSOR_NAME];
  int length = 0;
  MPI_Get_processor_name(host, &length);
  return fmt::format("MPI rank {} of {} on {}", rank_, size_, std::string(host, static_cast<std::size_t>(length)));
}

}  // namespace symgrad
