// Decode family: the CUDA-core inner loop (!kUseMma), for G*q_len <= 8 rows, where an mma would
// waste most of its 16 rows: kLanesPerKey lanes share one key, each owning 8 head-dim elements.
// Leaves each lane group's softmax state in the merge slabs for the epilogue.
#pragma once

#include "decode_kv_stream.cuh"

namespace gqf {
namespace decode {

template <typename L>
__device__ __forceinline__ void run_simt(const GqaParams& p, const CtaWork& cta, unsigned char* smem,
                                         const KvTensorMaps* maps) {
  typedef typename L::Element Element;
  constexpr int kR = L::kRowsCta, kSteps = L::kSteps, kLpk = L::kLanesPerKey;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int grp = lane / kLpk, sub = lane % kLpk;
  const bool active = sub < L::kChunks;  // head dim 96: 12 of 16 lanes hold data

  KvPipe<L> kv;
  kv.init(p, cta, tid, smem_addr(smem), maps);
  const int n_tiles = kv.n_tiles;
  kv.prologue(cta, tid);

  // Q: this lane's 8 head-dim elements of every row, in fp32 registers.
  const int row_base = cta.row_block * L::kRowsCta;
  float q[kR][8];
  int lim[kR];
#pragma unroll
  for (int m = 0; m < kR; ++m) {
    const int r = row_base + m;
#pragma unroll
    for (int e = 0; e < 8; ++e) q[m][e] = 0.0f;
    if (active && r < L::kRows) {
      const Element* q_row = static_cast<const Element*>(p.q) + q_offset<L>(p, cta.b, cta.kv_head, r);
      const u32x4 v = ld_global_nc_16(q_row + sub * 8);
      unpack8<Element>(v, q[m]);
    }
    const int t = r / L::kGroup;
    lim[m] = imin(L::kCausal ? t + cta.kv_len - L::kQLen : cta.kv_len - 1, cta.key_end - 1);
  }
  const int mask_free_end = L::kCausal ? imin(cta.key_end, cta.kv_len - L::kQLen + 1) : cta.key_end;
  const float scale = p.scale_log2;

  float o[kR][8], m_run[kR], l_run[kR];
#pragma unroll
  for (int m = 0; m < kR; ++m) {
#pragma unroll
    for (int e = 0; e < 8; ++e) o[m][e] = 0.0f;
    m_run[m] = neg_inf();
    l_run[m] = 0.0f;
  }
  // This lane's first key row in a tile (it then steps by kKeysPerStep rows).
  const int row0 = warp * L::kKW + grp;

  for (int it = 0; it < n_tiles; ++it) {
    const u32 st = kv.next_tile(cta, tid);
    const int k0 = cta.key_begin + it * L::kBlockN;
    kv.clear_tail(st, k0, p, cta, tid);

    float s[kSteps][kR];
#pragma unroll
    for (int i = 0; i < kSteps; ++i) {
      float kf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      if (active) unpack8<Element>(ld_shared_16(st + L::kv_offset(row0 + i * L::kKeysPerStep, sub)), kf);
#pragma unroll
      for (int m = 0; m < kR; ++m) {
        float acc = 0.0f;
#pragma unroll
        for (int e = 0; e < 8; ++e) acc = fmaf(q[m][e], kf[e], acc);
        s[i][m] = acc;
      }
    }
    // Dot products: sum over the lanes of a key group (all lanes end with the full sum).
#pragma unroll
    for (int o2 = kLpk / 2; o2 > 0; o2 >>= 1)
#pragma unroll
      for (int i = 0; i < kSteps; ++i)
#pragma unroll
        for (int m = 0; m < kR; ++m) s[i][m] += __shfl_xor_sync(0xffffffffu, s[i][m], o2);

    if (k0 + L::kBlockN > mask_free_end) {
      const int key0 = k0 + warp * L::kKW + grp;
#pragma unroll
      for (int i = 0; i < kSteps; ++i)
#pragma unroll
        for (int m = 0; m < kR; ++m)
          if (key0 + i * L::kKeysPerStep > lim[m]) s[i][m] = neg_inf();
    }

#pragma unroll
    for (int m = 0; m < kR; ++m) {
      float mx = neg_inf();
#pragma unroll
      for (int i = 0; i < kSteps; ++i) mx = fmaxf(mx, s[i][m]);
      const float m_new = fmaxf(m_run[m], mx * scale);
      const float m_use = m_new == neg_inf() ? 0.0f : m_new;
      const float alpha = fast_exp2(m_run[m] - m_use);
      m_run[m] = m_new;
      float ls = 0.0f;
#pragma unroll
      for (int i = 0; i < kSteps; ++i) {
        s[i][m] = fast_exp2(fmaf(s[i][m], scale, -m_use));
        ls += s[i][m];
      }
      l_run[m] = l_run[m] * alpha + ls;
#pragma unroll
      for (int e = 0; e < 8; ++e) o[m][e] *= alpha;
    }

    if (active) {
#pragma unroll
      for (int i = 0; i < kSteps; ++i) {
        float vf[8];
        unpack8<Element>(ld_shared_16(st + L::kTileBytes + L::kv_offset(row0 + i * L::kKeysPerStep, sub)), vf);
#pragma unroll
        for (int m = 0; m < kR; ++m)
#pragma unroll
          for (int e = 0; e < 8; ++e) o[m][e] = fmaf(s[i][m], vf[e], o[m][e]);
      }
    }
  }

  cp_async_wait<0>();
  __syncthreads();
  float* slab = reinterpret_cast<float*>(smem);
  float* slab_m = slab + L::kPartials * L::kSlabRows * L::kSlabStride;
  float* slab_l = slab_m + L::kPartials * L::kSlabRows;
  const int part = warp * L::kKeysPerStep + grp;
  if (active) {
#pragma unroll
    for (int m = 0; m < kR; ++m) {
      float* orow = slab + (part * L::kSlabRows + m) * L::kSlabStride + sub * 8;
#pragma unroll
      for (int e = 0; e < 8; ++e) orow[e] = o[m][e];
      if (sub == 0) {
        slab_m[part * L::kSlabRows + m] = m_run[m];
        slab_l[part * L::kSlabRows + m] = l_run[m];
      }
    }
  }
  __syncthreads();
}

}  // namespace decode
}  // namespace gqf
