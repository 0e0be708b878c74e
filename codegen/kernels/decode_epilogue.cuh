// Decode family: the end of the main kernel. Merges the per-warp (or per-lane-group) softmax
// states that an inner loop left in shared memory, and writes O and LSE, or the normalised
// split partials for the combine.
#pragma once

#include "decode_work.cuh"

namespace gqf {
namespace decode {

// ---------------------------------------------------------------------------------------------
// Epilogue: merge the per-warp softmax states (slabs) and write O/LSE or the split partials.
// Slab layout (floats, after Q): O [kPartials][kSlabRows][kSlabStride], then M (running max,
// log2 units) [kPartials][kSlabRows], then L (row sum) [kPartials][kSlabRows].
// ---------------------------------------------------------------------------------------------
template <class C>
__device__ __forceinline__ void write_rows(const GqaParams& p, const Cta& cta, const float* slab,
                                           bool final_out, bool empty) {
  const float* slab_m = slab + C::kPartials * C::kSlabRows * C::kSlabStride;
  const float* slab_l = slab_m + C::kPartials * C::kSlabRows;
  const int row_base = cta.rb * C::kRowsCta;
  for (int idx = threadIdx.x; idx < C::kRowsCta * C::kChunks; idx += C::kThreads) {
    const int lr = idx / C::kChunks, ch = idx - lr * C::kChunks;
    const int r = row_base + lr;
    if (r >= C::kRows) break;
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    float mx = neg_inf(), sum = 0.0f;
    if (!empty) {
#pragma unroll
      for (int w = 0; w < C::kPartials; ++w) mx = fmaxf(mx, slab_m[w * C::kSlabRows + lr]);
      const float msafe = mx == neg_inf() ? 0.0f : mx;
#pragma unroll
      for (int w = 0; w < C::kPartials; ++w) {
        const float f = fast_exp2(slab_m[w * C::kSlabRows + lr] - msafe);
        sum += f * slab_l[w * C::kSlabRows + lr];
        const float* o = slab + (w * C::kSlabRows + lr) * C::kSlabStride + ch * 8;
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[e] += f * o[e];
      }
    }
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    const float lse = lse_from_log2(mx, sum);
    const int t = r / C::kG, head = cta.kvh * C::kG + (r - t * C::kG);
    if (final_out) {
      u32x4 v;
      v.x = pack2<typename C::E>(acc[0] * inv, acc[1] * inv);
      v.y = pack2<typename C::E>(acc[2] * inv, acc[3] * inv);
      v.z = pack2<typename C::E>(acc[4] * inv, acc[5] * inv);
      v.w = pack2<typename C::E>(acc[6] * inv, acc[7] * inv);
      typename C::E* o = static_cast<typename C::E*>(p.o) + cta.b * p.o_stride_b + t * p.o_stride_s +
                         head * p.o_stride_h + ch * 8;
      st_global_16(o, v);
      if (ch == 0 && p.lse != nullptr) {
        p.lse[(static_cast<long long>(cta.b) * C::kQL + t) * p.n_q_heads + head] = lse;
      }
    } else {
      const long long prow =
          ((static_cast<long long>(cta.split) * p.batch + cta.b) * C::kQL + t) * p.n_q_heads + head;
      float* o = p.o_partial + prow * C::kD + ch * 8;
      st_global_f32x4(o, acc[0] * inv, acc[1] * inv, acc[2] * inv, acc[3] * inv);
      st_global_f32x4(o + 4, acc[4] * inv, acc[5] * inv, acc[6] * inv, acc[7] * inv);
      if (ch == 0) p.lse_partial[prow] = lse;
    }
  }
}

}  // namespace decode
}  // namespace gqf
