// Ops over the processes of data-parallel training: cross_replica_sum.

#include "op_helpers.hpp"

namespace symgrad {

Value cross_replica_sum(Value x) { return x.graph->apply1("cross_replica_sum", {x}, {}); }

namespace ops_detail {

void register_collective_ops(OpRegistry& r) {
  // y = sum over the processes p of x_p, the same on every process. The objective J is the sum of
  // the processes' objectives (data-parallel training weighs each by its share of the batch), so
  // dJ/dx_p = sum over q of dJ_q/dy: the sum over the processes of the incoming gradients.
  // Without a communicator (one process) y = x and the gradient is g: that is what the gradient
  // check sees.
  r.add(make_op(
      "cross_replica_sum", "the sum over the processes of data-parallel training (x alone in one process)", 1,
      [](const InferContext& ctx) {
        require_float(ctx, 0);
        return std::vector<TensorType>{ctx.inputs[0]};
      },
      [](const PullbackContext& c) -> std::vector<Grad> { return {cross_replica_sum(c.g())}; },
      [] {
        return std::vector<Sample>{Sample{"matrix", {floats({2, 3})}, {}, true},
                                   Sample{"scalar", {floats({})}, {}, true}};
      }));
}

}  // namespace ops_detail
}  // namespace symgrad
