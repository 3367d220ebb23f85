#include "symgrad/mpi/mpi_communicator.hpp"

#include <mpi.h>

#include <climits>
#include <cstdlib>

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

bool launched_by_mpirun() {
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  return size != nullptr && std::atoi(size) > 1;
}

MpiCommunicator::MpiCommunicator() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiCommunicator::~MpiCommunicator() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void MpiCommunicator::allreduce_sum(float* data, std::size_t n) {
  in_pieces(n, [&](std::size_t at, int count) {
    check(MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce", rank_);
  });
}

void MpiCommunicator::allreduce_sum(double* data, std::size_t n) {
  in_pieces(n, [&](std::size_t at, int count) {
    check(MPI_Allreduce(MPI_IN_PLACE, data + at, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce", rank_);
  });
}

void MpiCommunicator::allreduce_min_max(double& min, double& max) {
  check(MPI_Allreduce(MPI_IN_PLACE, &min, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce", rank_);
  check(MPI_Allreduce(MPI_IN_PLACE, &max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce", rank_);
}

void MpiCommunicator::broadcast(void* data, std::size_t bytes, int root) {
  in_pieces(bytes, [&](std::size_t at, int count) {
    check(MPI_Bcast(static_cast<char*>(data) + at, count, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast", rank_);
  });
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
