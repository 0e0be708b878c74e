// Prefill family, mma.sync generation: global -> shared cp.async copies into padded rows (16
// bytes per thread and step, zero-fill past the end): QLoader, the CTA's Q rows (gathered per
// packed row), and KvStream, its stream of K/V tiles.
#pragma once

#include "prefill_work.cuh"

namespace gqf {
namespace prefill {

/// The Q rows of the CTA: each packed row has its own (token, head) address.
template <typename L>
struct QLoader {
  typedef typename L::Element Element;

  static __device__ __forceinline__ void load(u32 q_smem, const Element* q, const SeqInfo& s, const RowMap<L>& rows,
                                              const GqaParams& p, int tid) {
    constexpr int kTotal = L::kBlockM * L::kChunks;
    constexpr int kIters = (kTotal + L::kThreads - 1) / L::kThreads;
#pragma unroll
    for (int it = 0; it < kIters; ++it) {
      int i = tid + it * L::kThreads;
      if (kTotal % L::kThreads == 0 || i < kTotal) {
        int r = i / L::kChunks, c = i % L::kChunks;
        int t = rows.token(r);
        bool valid = t < s.q_len;
        const Element* src = q;
        if (valid) {
          src = q + s.q_base + (s.q_tok0 + t) * p.q_stride_s + static_cast<long long>(rows.q_head(r)) * p.q_stride_h +
                c * 8;
        }
        cp_async_16(q_smem + r * L::kRowBytes + c * 16, src, valid);
      }
    }
  }
};

/// The stream of K/V tiles of one CTA, from key 0 upwards. Keeps only what a thread needs for
/// its own copies (two advancing global pointers, its row, a row budget), because this state
/// is live through the whole main loop, next to the O and S accumulators.
template <typename L>
struct KvStream {
  typedef typename L::Element Element;
  /// K/V rows are padded to a power-of-two number of 16-byte chunks (head_dim 96: 12 of 16
  /// active) so that each thread copies one fixed chunk of rows r0, r0 + kRowStep, ...
  static constexpr int kLoadChunks = L::kChunks <= 8 ? 8 : L::kChunks <= 16 ? 16 : 32;
  static constexpr int kRowStep = L::kThreads / kLoadChunks;
  static constexpr int kTileIters = (L::kBlockN + kRowStep - 1) / kRowStep;
  static_assert(L::kThreads % kLoadChunks == 0, "threads must cover whole padded rows");

  const Element* k_src;  // this thread's first element in the next K tile
  const Element* v_src;
  int row;        // first tile row this thread copies (>= kBlockN: idle thread)
  int rows_left;  // keys of the sequence from the next tile's first key on
  u32 smem_off;   // byte offset of (row, chunk) inside a tile

  __device__ __forceinline__ void init(const Element* k, const Element* v, const GqaParams& p, int kv_len, int tid) {
    const int chunk = tid % kLoadChunks;
    row = tid / kLoadChunks;
    // Idle lanes of padded rows never copy: park them past the tile.
    if (kLoadChunks != L::kChunks && chunk >= L::kChunks) row = L::kBlockN;
    k_src = k + row * p.k_stride_s + chunk * 8;
    v_src = v + row * p.v_stride_s + chunk * 8;
    rows_left = kv_len;
    smem_off = row * L::kRowBytes + chunk * 16;
  }

  /// Copies the next K and V tile into a ring slot (K at `dst`, V after it) and advances.
  /// Keys past the sequence end are zero-filled (their global memory is never read), so the
  /// masked P = 0 entries never meet NaN garbage in V.
  __device__ __forceinline__ void load_next(u32 dst, const GqaParams& p) {
#pragma unroll
    for (int it = 0; it < kTileIters; ++it) {
      const int r = row + it * kRowStep;
      if (r < L::kBlockN) {
        const bool valid = r < rows_left;
        const u32 d = dst + smem_off + it * kRowStep * L::kRowBytes;
        cp_async_16(d, k_src + it * kRowStep * p.k_stride_s, valid);
        cp_async_16(d + L::kTileBytes, v_src + it * kRowStep * p.v_stride_s, valid);
      }
    }
    k_src += L::kBlockN * p.k_stride_s;
    v_src += L::kBlockN * p.v_stride_s;
    rows_left -= L::kBlockN;
  }
};

}  // namespace prefill
}  // namespace gqf
