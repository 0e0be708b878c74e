// Prefill family, wgmma generation: global -> shared cp.async copies into 128-byte-swizzled
// tiles (wgmma.cuh): SwizzledQLoader, the CTA's Q rows (gathered per packed row), and
// SwizzledKvStream, its stream of K/V tiles.
#pragma once

#include "prefill_work.cuh"
#include "wgmma.cuh"

namespace gqf {
namespace prefill {

/// The Q rows of the CTA into a swizzled tile of kBlockM rows.
template <typename L>
struct SwizzledQLoader {
  typedef typename L::Element Element;

  static __device__ __forceinline__ void load(u32 q_smem, const Element* q, const SeqInfo& s, const RowMap<L>& rows,
                                              const GqaParams& p, int tid) {
    constexpr int kTotal = L::kBlockM * L::kChunks;
    static_assert(kTotal % L::kThreads == 0, "Q copies split evenly");
#pragma unroll
    for (int it = 0; it < kTotal / L::kThreads; ++it) {
      const int i = tid + it * L::kThreads;
      const int r = i / L::kChunks, c = i % L::kChunks;
      const int t = rows.token(r);
      const bool valid = t < s.q_len;
      const Element* src = q;
      if (valid) {
        src = q + s.q_base + (s.q_tok0 + t) * p.q_stride_s + static_cast<long long>(rows.q_head(r)) * p.q_stride_h +
              c * 8;
      }
      cp_async_16(q_smem + wgmma::swizzled_offset(r, c * 8, L::kBlockM), src, valid);
    }
  }
};

/// The stream of K/V tiles of one CTA into swizzled tiles, from key 0 upwards: each thread
/// copies chunk `chunk` of rows row, row + kRowStep, ...
template <typename L>
struct SwizzledKvStream {
  typedef typename L::Element Element;
  static constexpr int kRowStep = L::kThreads / L::kChunks;
  static constexpr int kTileIters = (L::kBlockN + kRowStep - 1) / kRowStep;

  const Element* k_src;
  const Element* v_src;
  int row;
  int chunk;
  int rows_left;

  __device__ __forceinline__ void init(const Element* k, const Element* v, const GqaParams& p, int kv_len, int tid) {
    chunk = tid % L::kChunks;
    row = tid / L::kChunks;
    k_src = k + row * p.k_stride_s + chunk * 8;
    v_src = v + row * p.v_stride_s + chunk * 8;
    rows_left = kv_len;
  }

  /// Copies the next K tile to `dst` and V tile after it (keys past the end zero-filled).
  __device__ __forceinline__ void load_next(u32 dst, const GqaParams& p) {
#pragma unroll
    for (int it = 0; it < kTileIters; ++it) {
      const int r = row + it * kRowStep;
      if (kTileIters * kRowStep == L::kBlockN || r < L::kBlockN) {
        const bool valid = r < rows_left;
        const u32 d = dst + wgmma::swizzled_offset(r, chunk * 8, L::kBlockN);
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
