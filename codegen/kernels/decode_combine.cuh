// Decode family: the split-KV combine. Merges the normalised partial O and LSE of every active
// split of one output row: by one warp of the last CTA (fused) or by the combine kernel.
#pragma once

#include "decode_layout.cuh"

namespace gqf {
namespace decode {

/// Split combine of one output row by a team of kTeam warps (fused: 1 warp; kernel: all warps);
/// `red` is kTeam * kHeadDim floats of shared memory when kTeam > 1.
template <typename L, int kTeam>
__device__ __forceinline__ void combine_row(const GqaParams& p, int b, int t, int head, int n_active, int team_warp,
                                            float* red) {
  typedef typename L::Element Element;
  constexpr float kLog2e = 1.4426950408889634f;
  constexpr int kLanes = L::kCombineLanes, kVec = L::kCombineVec, kSpw = L::kCombineSplitsPerWarp;
  const int lane = threadIdx.x & 31;
  const long long split_rows = static_cast<long long>(p.batch) * L::kQLen * p.n_q_heads;
  const long long row = (static_cast<long long>(b) * L::kQLen + t) * p.n_q_heads + head;
  const float* lse_p = p.lse_partial + row;
  const float* o_p = p.o_partial + row * L::kHeadDim;

  // Max and sum of the split weights in one online pass (independent loads, unrolled, so a
  // few hundred splits cost one L2 round trip rather than one per 32 splits); every warp of the
  // team computes them redundantly, which saves a barrier.
  float mx = neg_inf(), sum = 0.0f;
#pragma unroll 4
  for (int s = lane; s < n_active; s += 32) {
    const float x = ld_cg_f32(lse_p + s * split_rows);
    const float m_new = fmaxf(mx, x);
    const float m_ref = m_new == neg_inf() ? 0.0f : m_new;
    sum = sum * fast_exp2((mx - m_ref) * kLog2e) + fast_exp2((x - m_ref) * kLog2e);
    mx = m_new;
  }
  // Butterfly merge of (max, sum) pairs; partners compute bit-identical results.
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float m_o = __shfl_xor_sync(0xffffffffu, mx, o), s_o = __shfl_xor_sync(0xffffffffu, sum, o);
    const float m_new = fmaxf(mx, m_o);
    const float m_ref = m_new == neg_inf() ? 0.0f : m_new;
    sum = sum * fast_exp2((mx - m_ref) * kLog2e) + s_o * fast_exp2((m_o - m_ref) * kLog2e);
    mx = m_new;
  }
  const float msafe = mx == neg_inf() ? 0.0f : mx;

  const int sub = lane % kLanes, slot = lane / kLanes;
  float acc[kVec][4];
#pragma unroll
  for (int v = 0; v < kVec; ++v) acc[v][0] = acc[v][1] = acc[v][2] = acc[v][3] = 0.0f;
  const int first = team_warp * kSpw + slot, step = kTeam * kSpw;
#pragma unroll 8
  for (int s = first; s < n_active; s += step) {
    const float w = fast_exp2((ld_cg_f32(lse_p + s * split_rows) - msafe) * kLog2e);
#pragma unroll
    for (int v = 0; v < kVec; ++v) {
      const int c4 = sub + v * kLanes;  // float4 index in the row
      if (c4 < L::kHeadDim / 4) {
        float x[4];
        ld_cg_f32x4(o_p + s * split_rows * L::kHeadDim + c4 * 4, x);
        // A split whose rows saw no key has weight 0 and O 0: no NaN can enter.
        acc[v][0] += w * x[0];
        acc[v][1] += w * x[1];
        acc[v][2] += w * x[2];
        acc[v][3] += w * x[3];
      }
    }
  }
  if constexpr (kSpw > 1) {
#pragma unroll
    for (int v = 0; v < kVec; ++v)
#pragma unroll
      for (int e = 0; e < 4; ++e)
#pragma unroll
        for (int o = kLanes; o < 32; o <<= 1) acc[v][e] += __shfl_xor_sync(0xffffffffu, acc[v][e], o);
  }
  if constexpr (kTeam > 1) {
    // Cross-warp sum through shared memory: red[warp][D].
    if (slot == 0) {
#pragma unroll
      for (int v = 0; v < kVec; ++v) {
        const int c4 = sub + v * kLanes;
        if (c4 < L::kHeadDim / 4) {
#pragma unroll
          for (int e = 0; e < 4; ++e) red[team_warp * L::kHeadDim + c4 * 4 + e] = acc[v][e];
        }
      }
    }
    __syncthreads();
    if (team_warp != 0) return;
#pragma unroll
    for (int v = 0; v < kVec; ++v) {
      const int c4 = sub + v * kLanes;
      if (c4 < L::kHeadDim / 4 && slot == 0) {
#pragma unroll
        for (int w = 1; w < kTeam; ++w)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[v][e] += red[w * L::kHeadDim + c4 * 4 + e];
      }
    }
  }
  const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
  if (slot == 0) {
    Element* o = static_cast<Element*>(p.o) + b * p.o_stride_b + t * p.o_stride_s + head * p.o_stride_h;
#pragma unroll
    for (int v = 0; v < kVec; ++v) {
      const int c4 = sub + v * kLanes;
      if (c4 < L::kHeadDim / 4) {
        // 8-byte store of four elements.
        const u32 lo = pack2<Element>(acc[v][0] * inv, acc[v][1] * inv);
        const u32 hi = pack2<Element>(acc[v][2] * inv, acc[v][3] * inv);
        asm volatile("st.global.v2.b32 [%0], {%1,%2};\n" ::"l"(o + c4 * 4), "r"(lo), "r"(hi) : "memory");
      }
    }
  }
  if (lane == 0 && p.lse != nullptr) {
    p.lse[row] = (mx == neg_inf() || sum == 0.0f) ? neg_inf() : mx + __logf(sum);
  }
}

/// The combine kernel: one CTA per output row (query head, token, sequence).
template <typename Traits>
__device__ __forceinline__ void combine_kernel(const GqaParams& p) {
  typedef Layout<Traits> L;
  extern __shared__ __align__(16) unsigned char smem[];
  grid_dependency_wait();  // launched programmatically: the partials are the main kernel's
  const int head = blockIdx.x, t = blockIdx.y, b = blockIdx.z;
  const int n = imax(0, p.kv_lens != nullptr ? p.kv_lens[b] : p.kv_len);
  const int n_active = n == 0 ? 0 : imin(p.num_splits, ceil_div(n, p.split_len));
  if (n_active <= 1) return;  // the main kernel wrote this row directly
  combine_row<L, L::kCombineWarps>(p, b, t, head, n_active, threadIdx.x >> 5, reinterpret_cast<float*>(smem));
}

}  // namespace decode
}  // namespace gqf
