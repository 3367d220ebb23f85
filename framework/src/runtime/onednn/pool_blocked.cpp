// Max pooling over non-overlapping windows of a channel-blocked tensor, on the host (see
// pool_blocked.hpp for why and for the semantics). Each (image, channel block) plane is one task:
// its windows are read once, a vector of B channels at a time, and the maximum is kept as the
// reference keeps it: the window's first element, replaced by each later one strictly greater.

#include "pool_blocked.hpp"

#include <immintrin.h>

#include <cstring>
#include <string>

#include "symgrad/runtime/plan.hpp"

namespace symgrad::onednn {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// The element offsets of a plane's first lanes in x and in y: blocked, the plane's own block of
// pixels; channels-last, the plane's image and lanes within each pixel's channels.
struct Plane {
  std::int64_t x, y;
};
Plane plane_at(const BlockedPool& p, std::int64_t plane) {
  if (!p.channels_last) return {plane * p.h * p.w * p.block, plane * p.oh * p.ow * p.block};
  const std::int64_t blocks = p.pixel / p.block, n = plane / blocks, lanes = plane % blocks * p.block;
  return {n * p.h * p.w * p.pixel + lanes, n * p.oh * p.ow * p.pixel + lanes};
}

// Zeroes what no window covers in a plane of dx (the windows write the rest): the plane's lanes
// of the pixels right of the last window in the covered rows, and of the rows below it.
template <class T>
void zero_uncovered(T* plane, const BlockedPool& p) {
  const std::int64_t covered_w = p.ow * p.kw, covered_h = p.oh * p.kh;
  const auto lanes = static_cast<std::size_t>(p.block) * sizeof(T);
  for (std::int64_t r = 0; r < p.h; ++r) {
    for (std::int64_t q = r < covered_h ? covered_w : 0; q < p.w; ++q) {
      std::memset(static_cast<void*>(plane + (r * p.w + q) * p.pixel), 0, lanes);
    }
  }
}

// Writes the `lanes` values of window (i, j) of `plane` to a plain f32 y [N, C, OH, OW] (the
// lanes past the last channel, a block's padding, are not written).
void put_plain(const float* lanes, float* y, const BlockedPool& p, std::int64_t plane, std::int64_t i, std::int64_t j) {
  const std::int64_t blocks = (p.channels + p.block - 1) / p.block, n = plane / blocks, c0 = plane % blocks * p.block;
  for (std::int64_t l = 0; l < p.block && c0 + l < p.channels; ++l) y[((n * p.channels + c0 + l) * p.oh + i) * p.ow + j] = lanes[l];
}

// ---- AVX-512, 16 channels a block -----------------------------------------------------------

__attribute__((target("avx512f"))) inline __m512 load16(const float* x) { return _mm512_loadu_ps(x); }
__attribute__((target("avx512f"))) inline __m512 load16(const std::uint16_t* x) {
  const __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
  // (the zero-masked forms: GCC 12 warns of the plain ones' _mm512_undefined_epi32 under -Werror)
  const __m512i wide = _mm512_maskz_cvtepu16_epi32(0xffff, bits);
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xffff, wide, 16));  // bf16 -> f32, exact
}
__attribute__((target("avx512f"))) inline void store16(float* y, __m512 v) { _mm512_storeu_ps(y, v); }
__attribute__((target("avx512f"))) inline void store16(std::uint16_t* y, __m512 v) {
  // a value read from bf16 has its low 16 bits zero: the shift gives its bits back exactly
  const __m256i bits = _mm512_maskz_cvtepi32_epi16(0xffff, _mm512_maskz_srli_epi32(0xffff, _mm512_castps_si512(v), 16));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(y), bits);
}

template <class T>
__attribute__((target("avx512f"))) void forward16(const T* x, void* y, const BlockedPool& p, std::int64_t plane) {
  const Plane at = plane_at(p, plane);
  for (std::int64_t i = 0; i < p.oh; ++i) {
    for (std::int64_t j = 0; j < p.ow; ++j) {
      const T* window = x + at.x + ((i * p.kh) * p.w + j * p.kw) * p.pixel;
      __m512 best = load16(window);
      for (std::int64_t a = 0; a < p.kh; ++a) {
        for (std::int64_t b = a == 0 ? 1 : 0; b < p.kw; ++b) {
          const __m512 v = load16(window + (a * p.w + b) * p.pixel);
          best = _mm512_mask_mov_ps(best, _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ), v);
        }
      }
      if (p.plain_out) {
        alignas(64) float lanes[16];
        _mm512_store_ps(lanes, best);
        put_plain(lanes, static_cast<float*>(y), p, plane, i, j);
      } else {
        store16(static_cast<T*>(y) + at.y + (i * p.ow + j) * p.pixel, best);
      }
    }
  }
}

// dx over the plane: each window's g at its first maximum, 0 elsewhere (and in the rows and
// columns no window covers). g + 0 as the reference's sum into zeros gives (-0 becomes +0).
template <class T>
__attribute__((target("avx512f"))) void backward16(const T* x, const T* g, T* dx, const BlockedPool& p,
                                                          std::int64_t plane) {
  const Plane at = plane_at(p, plane);
  const __m512 zero = _mm512_setzero_ps();
  zero_uncovered(dx + at.x, p);
  for (std::int64_t i = 0; i < p.oh; ++i) {
    for (std::int64_t j = 0; j < p.ow; ++j) {
      const std::int64_t first = ((i * p.kh) * p.w + j * p.kw) * p.pixel;
      __m512 best = load16(x + at.x + first);
      __m512i where = _mm512_setzero_si512();  // the maximum's tap, per lane
      for (std::int64_t a = 0; a < p.kh; ++a) {
        for (std::int64_t b = a == 0 ? 1 : 0; b < p.kw; ++b) {
          const __m512 v = load16(x + at.x + first + (a * p.w + b) * p.pixel);
          const __mmask16 greater = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ);
          best = _mm512_mask_mov_ps(best, greater, v);
          where = _mm512_mask_mov_epi32(where, greater, _mm512_set1_epi32(static_cast<int>(a * p.kw + b)));
        }
      }
      const __m512 gv = _mm512_add_ps(load16(g + at.y + (i * p.ow + j) * p.pixel), zero);
      for (std::int64_t a = 0; a < p.kh; ++a) {
        for (std::int64_t b = 0; b < p.kw; ++b) {
          const __mmask16 here = _mm512_cmpeq_epi32_mask(where, _mm512_set1_epi32(static_cast<int>(a * p.kw + b)));
          store16(dx + at.x + first + (a * p.w + b) * p.pixel, _mm512_maskz_mov_ps(here, gv));
        }
      }
    }
  }
}

// ---- AVX2, 8 channels a block (f32) ---------------------------------------------------------

__attribute__((target("avx2"))) void forward8(const float* x, float* y, const BlockedPool& p, std::int64_t plane) {
  const Plane at = plane_at(p, plane);
  for (std::int64_t i = 0; i < p.oh; ++i) {
    for (std::int64_t j = 0; j < p.ow; ++j) {
      const float* window = x + at.x + ((i * p.kh) * p.w + j * p.kw) * p.pixel;
      __m256 best = _mm256_loadu_ps(window);
      for (std::int64_t a = 0; a < p.kh; ++a) {
        for (std::int64_t b = a == 0 ? 1 : 0; b < p.kw; ++b) {
          const __m256 v = _mm256_loadu_ps(window + (a * p.w + b) * p.pixel);
          best = _mm256_blendv_ps(best, v, _mm256_cmp_ps(v, best, _CMP_GT_OQ));
        }
      }
      if (p.plain_out) {
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, best);
        put_plain(lanes, y, p, plane, i, j);
      } else {
        _mm256_storeu_ps(y + at.y + (i * p.ow + j) * p.pixel, best);
      }
    }
  }
}

__attribute__((target("avx2"))) void backward8(const float* x, const float* g, float* dx, const BlockedPool& p,
                                               std::int64_t plane) {
  const Plane at = plane_at(p, plane);
  const __m256 zero = _mm256_setzero_ps();
  zero_uncovered(dx + at.x, p);
  for (std::int64_t i = 0; i < p.oh; ++i) {
    for (std::int64_t j = 0; j < p.ow; ++j) {
      const std::int64_t first = ((i * p.kh) * p.w + j * p.kw) * p.pixel;
      __m256 best = _mm256_loadu_ps(x + at.x + first);
      __m256i where = _mm256_setzero_si256();
      for (std::int64_t a = 0; a < p.kh; ++a) {
        for (std::int64_t b = a == 0 ? 1 : 0; b < p.kw; ++b) {
          const __m256 v = _mm256_loadu_ps(x + at.x + first + (a * p.w + b) * p.pixel);
          const __m256 greater = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
          best = _mm256_blendv_ps(best, v, greater);
          where = _mm256_castps_si256(_mm256_blendv_ps(
              _mm256_castsi256_ps(where), _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(a * p.kw + b))), greater));
        }
      }
      const __m256 gv = _mm256_add_ps(_mm256_loadu_ps(g + at.y + (i * p.ow + j) * p.pixel), zero);
      for (std::int64_t a = 0; a < p.kh; ++a) {
        for (std::int64_t b = 0; b < p.kw; ++b) {
          const __m256 here =
              _mm256_castsi256_ps(_mm256_cmpeq_epi32(where, _mm256_set1_epi32(static_cast<int>(a * p.kw + b))));
          _mm256_storeu_ps(dx + at.x + first + (a * p.w + b) * p.pixel, _mm256_and_ps(here, gv));
        }
      }
    }
  }
}

// The tag of a blocked layout of B channels: aBcd16b or aBcd8b.
tag blocked_tag(int block) { return block == 16 ? tag::aBcd16b : tag::aBcd8b; }

}  // namespace

std::optional<BlockedPool> blocked_pool(const md& x, const Shape& xs, const Shape& ys, const Attrs& attrs) {
  const auto& k = attrs.get_ints("kernel");
  const auto& s = attrs.get_ints("stride");
  const auto& pad = attrs.get_ints("padding");
  if (k != s || pad[0] != 0 || pad[1] != 0 || !xs.is_static() || !ys.is_static()) return std::nullopt;
  const dims d = dims_of(xs);
  // the instruction sets the process may use (the CPU's, capped by ONEDNN_MAX_CPU_ISA, as for
  // the chain compiler): AVX-512 (with BW) for blocks of 16, AVX2 for blocks of 8
  static const std::string isa = instruction_sets().chains;
  for (const int block : {16, 8}) {
    const bool cpu = block == 16 ? isa == "avx512" : isa == "avx512" || isa == "avx2";
    for (const dt type : {dt::f32, dt::bf16}) {
      if (!cpu || (type == dt::bf16 && block != 16)) continue;
      // channel blocks of `block`; or channels last (acdb, as AMX convolutions keep them) in
      // groups of `block` lanes when the channels fill whole groups
      const bool blocked = x == md(d, type, blocked_tag(block));
      const bool last = xs[1] % block == 0 && x == md(d, type, tag::acdb);
      if (!blocked && !last) continue;
      BlockedPool p;
      p.planes = xs[0] * ((xs[1] + block - 1) / block);
      p.h = xs[2], p.w = xs[3], p.oh = ys[2], p.ow = ys[3], p.kh = k[0], p.kw = k[1];
      p.block = block;
      p.channels_last = last && !blocked;
      p.pixel = p.channels_last ? xs[1] : block;
      p.channels = xs[1];
      p.bf16 = type == dt::bf16;
      return p;
    }
  }
  return std::nullopt;
}

md blocked_pool_md(const BlockedPool& p, const Shape& shape) {
  return md(dims_of(shape), p.bf16 ? dt::bf16 : dt::f32, p.channels_last ? tag::acdb : blocked_tag(p.block));
}

void blocked_pool_forward(const BlockedPool& p, const void* x, void* y) {
#pragma omp parallel for schedule(static) if (p.planes > 1)
  for (std::int64_t plane = 0; plane < p.planes; ++plane) {
    if (p.block == 8) {
      forward8(static_cast<const float*>(x), static_cast<float*>(y), p, plane);
    } else if (p.bf16) {
      forward16(static_cast<const std::uint16_t*>(x), y, p, plane);
    } else {
      forward16(static_cast<const float*>(x), y, p, plane);
    }
  }
}

void blocked_pool_backward(const BlockedPool& p, const void* x, const void* g, void* dx) {
#pragma omp parallel for schedule(static) if (p.planes > 1)
  for (std::int64_t plane = 0; plane < p.planes; ++plane) {
    if (p.block == 8) {
      backward8(static_cast<const float*>(x), static_cast<const float*>(g), static_cast<float*>(dx), p, plane);
    } else if (p.bf16) {
      backward16(static_cast<const std::uint16_t*>(x), static_cast<const std::uint16_t*>(g),
                 static_cast<std::uint16_t*>(dx), p, plane);
    } else {
      backward16(static_cast<const float*>(x), static_cast<const float*>(g), static_cast<float*>(dx), p, plane);
    }
  }
}

}  // namespace symgrad::onednn
