// Prefill family, both generations: the epilogue. O / sum staged through shared memory and
// written with 16-byte coalesced stores, and the natural-log LSE.
#pragma once

#include "prefill_softmax.cuh"
#include "prefill_work.cuh"

namespace gqf {
namespace prefill {

/// O / sum staged in shared memory rows that only this warp uses (mma.sync: its rows of the Q
/// buffer; wgmma: of the drained K/V ring), then 16-byte global stores.
template <typename L>
struct Epilogue {
  typedef typename L::Element Element;

  static __device__ __forceinline__ void store(const float (&o)[L::kMTiles][L::kDTiles][4], const OnlineSoftmax<L>& sm,
                                               u32 stage_warp, unsigned char* stage_warp_ptr, int warp_row0,
                                               const RowMap<L>& rows, const SeqInfo& s, const GqaParams& p, int lane) {
    // Only this warp ever reads its rows of the Q buffer, so a warp barrier suffices.
    __syncwarp();
#pragma unroll
    for (int mt = 0; mt < L::kMTiles; ++mt) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const float inv = sm.row_sum[mt][h] > 0.0f ? 1.0f / sm.row_sum[mt][h] : 0.0f;
        const int r = mt * 16 + h * 8 + lane / 4;
#pragma unroll
        for (int dt = 0; dt < L::kDTiles; ++dt) {
          u32 v = pack2<Element>(o[mt][dt][2 * h] * inv, o[mt][dt][2 * h + 1] * inv);
          *reinterpret_cast<u32*>(stage_warp_ptr + r * L::kRowBytes + dt * 16 + (lane % 4) * 4) = v;
        }
        if (p.lse != nullptr && lane % 4 == 0) {
          const int t = rows.token(warp_row0 + r);
          if (t < s.q_len) {
            const float mx = sm.row_max[mt][h];
            const float lse = lse_from_log2(mx == neg_inf() ? neg_inf() : mx * p.scale_log2, sm.row_sum[mt][h]);
            p.lse[(s.lse_row0 + t) * p.n_q_heads + rows.q_head(warp_row0 + r)] = lse;
          }
        }
      }
    }
    __syncwarp();
    Element* out = static_cast<Element*>(p.o);
    constexpr int kTotal = L::kWarpRows * L::kChunks;
#pragma unroll
    for (int i0 = 0; i0 < kTotal; i0 += 32) {
      const int i = i0 + lane;
      if (kTotal % 32 == 0 || i < kTotal) {
        const int r = i / L::kChunks, c = i % L::kChunks;
        const int t = rows.token(warp_row0 + r);
        if (t < s.q_len) {
          Element* dst = out + s.o_base + (s.q_tok0 + t) * p.o_stride_s +
                         static_cast<long long>(rows.q_head(warp_row0 + r)) * p.o_stride_h + c * 8;
          st_global_16(dst, ld_shared_16(stage_warp + r * L::kRowBytes + c * 16));
        }
      }
    }
  }
};

}  // namespace prefill
}  // namespace gqf
