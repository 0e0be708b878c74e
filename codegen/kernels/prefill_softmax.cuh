// Prefill family, both generations: the online softmax over score tiles in the m16n8
// accumulator layout (which a wgmma m64 tile has per warp too), and the mask of the keys a
// row may not see.
#pragma once

#include "common.cuh"

namespace gqf {
namespace prefill {

/// Online softmax over the m16n8 accumulator layout: a thread holds rows lane/4 and lane/4 + 8 of
/// each m-tile ("half" 0 and 1), columns 2*(lane%4) + {0,1} of each n8 tile; a row is spread over
/// the 4 lanes of a quad.
template <typename L>
struct OnlineSoftmax {
  typedef typename L::Element Element;
  float row_max[L::kMTiles][2];  // running max of raw scores (not scaled)
  float row_sum[L::kMTiles][2];  // this lane's partial sum of 2^(scaled - max); quad-reduced at the end

  __device__ __forceinline__ void init() {
#pragma unroll
    for (int mt = 0; mt < L::kMTiles; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        row_max[mt][h] = neg_inf();
        row_sum[mt][h] = 0.0f;
      }
  }

  /// Sets scores of keys a row may not see to -inf: keys at or past the sequence end and, when
  /// causal, keys past the row's token + diag. `key0` is this lane's first column in the tile,
  /// `lane_row0` the global (packed) row of the lane's first row.
  static __device__ __forceinline__ void mask(float (&s)[L::kMTiles][L::kNTiles][4], int key0, int lane_row0, int diag,
                                              int kv_len) {
#pragma unroll
    for (int mt = 0; mt < L::kMTiles; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int r = lane_row0 + mt * 16 + h * 8;
        const int token = L::kPackGqa ? r / L::kGroup : r;
        const int limit = L::kCausal ? imin(kv_len, token + 1 + diag) : kv_len;
#pragma unroll
        for (int nt = 0; nt < L::kNTiles; ++nt)
#pragma unroll
          for (int e = 2 * h; e < 2 * h + 2; ++e) {
            if (key0 + nt * 8 + (e & 1) >= limit) s[mt][nt][e] = neg_inf();
          }
      }
  }

  /// Folds one score tile into the running statistics, rescales o, and writes P (bf16/fp16,
  /// A-fragment layout) for the PV product.
  __device__ __forceinline__ void update(float (&s)[L::kMTiles][L::kNTiles][4], float (&o)[L::kMTiles][L::kDTiles][4],
                                         u32 (&pf)[L::kMTiles][L::kPSteps][4], float scale_log2) {
#pragma unroll
    for (int mt = 0; mt < L::kMTiles; ++mt) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float mx = row_max[mt][h];
#pragma unroll
        for (int nt = 0; nt < L::kNTiles; ++nt) mx = fmaxf(mx, fmaxf(s[mt][nt][2 * h], s[mt][nt][2 * h + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        // A row that has seen only masked keys keeps max -inf; subtracting 0 instead keeps
        // every exponent -inf (p = 0) rather than NaN.
        const float max_scaled = mx == neg_inf() ? 0.0f : mx * scale_log2;
        const float corr = fast_exp2(row_max[mt][h] * scale_log2 - max_scaled);
        row_max[mt][h] = mx;
        float sum = 0.0f;
#pragma unroll
        for (int nt = 0; nt < L::kNTiles; ++nt) {
#pragma unroll
          for (int e = 2 * h; e < 2 * h + 2; ++e) {
            s[mt][nt][e] = fast_exp2(fmaf(s[mt][nt][e], scale_log2, -max_scaled));
            sum += s[mt][nt][e];
          }
        }
        row_sum[mt][h] = row_sum[mt][h] * corr + sum;
#pragma unroll
        for (int dt = 0; dt < L::kDTiles; ++dt) {
          o[mt][dt][2 * h] *= corr;
          o[mt][dt][2 * h + 1] *= corr;
        }
      }
#pragma unroll
      for (int kk = 0; kk < L::kPSteps; ++kk) {
        pf[mt][kk][0] = pack2<Element>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
        pf[mt][kk][1] = pack2<Element>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
        pf[mt][kk][2] = pack2<Element>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
        pf[mt][kk][3] = pack2<Element>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
      }
    }
  }

  /// Completes the quad sums; afterwards row_sum is the full softmax denominator.
  __device__ __forceinline__ void finish() {
#pragma unroll
    for (int mt = 0; mt < L::kMTiles; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) row_sum[mt][h] = warp_sum<4>(row_sum[mt][h]);
  }
};

}  // namespace prefill
}  // namespace gqf
