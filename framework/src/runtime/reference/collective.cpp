// Kernels of the ops over the processes of data-parallel training (every backend runs these: the
// sum goes through the plan's Communicator, not through a backend's library).

#include "kernel_helpers.hpp"
#include "symgrad/runtime/communicator.hpp"

namespace symgrad::reference {

void register_collective_kernels(KernelRegistry& r) {
  r.add_kernel("cross_replica_sum", kBackend, [](const KernelContext& c) {
    c.out().copy_from(c.in(0));
    Communicator* comm = c.communicator;
    if (comm == nullptr || comm->size() == 1) return;
    if (c.out().dtype() == DType::f32) {
      comm->allreduce_sum(c.out().data<float>(), static_cast<std::size_t>(c.out().numel()));
    } else {
      comm->allreduce_sum(c.out().data<double>(), static_cast<std::size_t>(c.out().numel()));
    }
  });
}

}  // namespace symgrad::reference
