#pragma once
// Max pooling over non-overlapping windows (stride = kernel, no padding) of a tensor held in a
// channel-blocked layout (aBcd16b: f32 or bf16 with AVX-512; aBcd8b: f32 with AVX2; or channels
// last, acdb, as AMX convolutions keep bf16 values, a vector of channels at a time; as
// instruction_sets().chains allows: ONEDNN_MAX_CPU_ISA lowers these too), forward and
// backward, run by the onednn backend on the host instead of oneDNN 2.6's pooling: in the
// benchmark's CNN step, oneDNN's took 1.35 ms forward and 1.68 ms backward on the first layer's
// 11 MB (about 11 GB/s), and its bf16 kernels as long on half the bytes (docs/performance.md).
// The backward needs no workspace: it finds each window's maximum again from x. Semantics are the
// reference backend's: a window's maximum is its first element replaced by each later one that is
// strictly greater (a NaN first stays; a later NaN is passed over), and the backward gives g + 0
// to that element and 0 to every other (and to rows and columns no window covers).
// Internal to the onednn backend.

#include <cstdint>
#include <optional>

#include "context.hpp"

namespace symgrad::onednn {

struct BlockedPool {
  std::int64_t planes = 0;  // images x channel blocks
  std::int64_t h = 0, w = 0, oh = 0, ow = 0, kh = 0, kw = 0;
  int block = 16;             // channels a block: the lanes of a vector
  bool channels_last = false;  // acdb (NHWC), taken a block of channels at a time; else aBcd16b / aBcd8b
  std::int64_t pixel = 16;     // elements from one pixel to the next: the block, or every channel
  std::int64_t channels = 0;
  bool bf16 = false;
  bool plain_out = false;  // the forward writes a plain f32 y (for a consumer that reads plain tensors)
};

/// The geometry when x (of shape `xs`, stored as `x`) pooled to shape `ys` with `attrs` is a case
/// these kernels take (and the CPU has the instructions for its block), else nullopt.
std::optional<BlockedPool> blocked_pool(const md& x, const Shape& xs, const Shape& ys, const Attrs& attrs);
/// The descriptor of a tensor of `shape` in the layout and element type of `p`'s input.
md blocked_pool_md(const BlockedPool& p, const Shape& shape);
/// y = max_pool2d(x): y in p's layout, or plain f32 with p.plain_out; threaded over the planes.
void blocked_pool_forward(const BlockedPool& p, const void* x, void* y);
/// dx = max_pool2d_backward(x, g), all three in p's layout; threaded over the planes.
void blocked_pool_backward(const BlockedPool& p, const void* x, const void* g, void* dx);

}  // namespace symgrad::onednn
