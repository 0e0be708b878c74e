// Decode family: the epilogue of the main kernel. Merges the per-warp (or per-lane-group) softmax
// states that an inner loop left in shared memory, and writes O and LSE, or the normalised
// split partials for the combine.
#pragma once

#include "decode_work.cuh"

namespace gqf {
namespace decode {

/// Slab layout (floats, after Q): O [kPartials][kSlabRows][kSlabStride], then M (running max,
/// log2 units) [kPartials][kSlabRows], then L (row sum) [kPartials][kSlabRows].
template <typename L>
struct Epilogue {
  typedef typename L::Element Element;

  /// Merges the slabs of the CTA's rows and writes O (+LSE) when `final_out`, else the
  /// normalised fp32 partials of its split; `empty`: a sequence without keys (slab unused),
  /// O = 0 and LSE = -inf.
  static __device__ __forceinline__ void store(const GqaParams& p, const CtaWork& cta, const float* slab,
                                               bool final_out, bool empty) {
    const float* slab_m = slab + L::kPartials * L::kSlabRows * L::kSlabStride;
    const float* slab_l = slab_m + L::kPartials * L::kSlabRows;
    const int row_base = cta.row_block * L::kRowsCta;
    for (int idx = threadIdx.x; idx < L::kRowsCta * L::kChunks; idx += L::kThreads) {
      const int lr = idx / L::kChunks, ch = idx - lr * L::kChunks;
      const int r = row_base + lr;
      if (r >= L::kRows) break;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      float mx = neg_inf(), sum = 0.0f;
      if (!empty) {
#pragma unroll
        for (int w = 0; w < L::kPartials; ++w) mx = fmaxf(mx, slab_m[w * L::kSlabRows + lr]);
        const float msafe = mx == neg_inf() ? 0.0f : mx;
#pragma unroll
        for (int w = 0; w < L::kPartials; ++w) {
          const float f = fast_exp2(slab_m[w * L::kSlabRows + lr] - msafe);
          sum += f * slab_l[w * L::kSlabRows + lr];
          const float* o = slab + (w * L::kSlabRows + lr) * L::kSlabStride + ch * 8;
#pragma unroll
          for (int e = 0; e < 8; ++e) acc[e] += f * o[e];
        }
      }
      const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
      const float lse = lse_from_log2(mx, sum);
      const int t = r / L::kGroup, head = cta.kv_head * L::kGroup + (r - t * L::kGroup);
      if (final_out) {
        u32x4 v;
        v.x = pack2<Element>(acc[0] * inv, acc[1] * inv);
        v.y = pack2<Element>(acc[2] * inv, acc[3] * inv);
        v.z = pack2<Element>(acc[4] * inv, acc[5] * inv);
        v.w = pack2<Element>(acc[6] * inv, acc[7] * inv);
        Element* o =
            static_cast<Element*>(p.o) + cta.b * p.o_stride_b + t * p.o_stride_s + head * p.o_stride_h + ch * 8;
        st_global_16(o, v);
        if (ch == 0 && p.lse != nullptr) {
          p.lse[(static_cast<long long>(cta.b) * L::kQLen + t) * p.n_q_heads + head] = lse;
        }
      } else {
        const long long prow =
            ((static_cast<long long>(cta.split) * p.batch + cta.b) * L::kQLen + t) * p.n_q_heads + head;
        float* o = p.o_partial + prow * L::kHeadDim + ch * 8;
        st_global_f32x4(o, acc[0] * inv, acc[1] * inv, acc[2] * inv, acc[3] * inv);
        st_global_f32x4(o + 4, acc[4] * inv, acc[5] * inv, acc[6] * inv, acc[7] * inv);
        if (ch == 0) p.lse_partial[prow] = lse;
      }
    }
  }
};

}  // namespace decode
}  // namespace gqf
