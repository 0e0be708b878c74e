// Decode family: the tensor-core inner loop (kUseMma). The CTA's query rows are the M dimension
// of m16n8k16 mma.sync (padded to 16); warps split kWarpsM (rows) x kWarpsN (keys of a tile).
// Leaves each warp's softmax state in the merge slabs for the epilogue.
#pragma once

#include "decode_kv_stream.cuh"

namespace gqf {
namespace decode {

template <typename L>
__device__ __forceinline__ void run_mma(const GqaParams& p, const CtaWork& cta, unsigned char* smem,
                                        const KvTensorMaps* maps) {
  typedef typename L::Element Element;
  constexpr int kMTiles = L::kMTiles, kKW = L::kKW, kNT = kKW / 8, kDT = L::kHeadDim / 8;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp / L::kWarpsN, wn = warp % L::kWarpsN;
  const u32 smem_base = smem_addr(smem);
  const u32 q_smem = smem_base;

  KvPipe<L> kv;
  kv.init(p, cta, tid, smem_base, maps);
  const int n_tiles = kv.n_tiles;

  // Q rows of this CTA into shared memory (padding rows zero-filled): its own commit group.
  const int row_base = cta.row_block * L::kRowsCta;
  for (int c = tid; c < L::kQRows * L::kChunks; c += L::kThreads) {
    const int lr = c / L::kChunks, col = c - lr * L::kChunks;
    const int r = row_base + lr;
    const bool valid = lr < L::kRowsCta && r < L::kRows;
    const Element* src =
        static_cast<const Element*>(p.q) + (valid ? q_offset<L>(p, cta.b, cta.kv_head, r) : 0) + col * 8;
    cp_async_16(q_smem + lr * L::kRowBytes + col * 16, src, valid);
  }
  cp_async_commit();

  // Pipeline prologue: kStages-1 tiles in flight.
  kv.prologue(cta, tid);

  // Per-row visibility limit: key j is visible to row (mt, half) iff j <= lim.
  int lim[kMTiles][2];
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = row_base + (wm * kMTiles + mt) * 16 + (lane >> 2) + h * 8;
      const int t = r / L::kGroup;
      const int l = L::kCausal ? t + cta.kv_len - L::kQLen : cta.kv_len - 1;
      lim[mt][h] = imin(l, cta.key_end - 1);
    }
  // Tiles entirely below this key need no mask.
  const int mask_free_end = L::kCausal ? imin(cta.key_end, cta.kv_len - L::kQLen + 1) : cta.key_end;

  // Q fragments (A operand), once, when they fit in registers.
  kv.wait_q();
  const u32 q_lane =
      q_smem + ((wm * kMTiles * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * L::kRowElems + (lane >> 4) * 8) * 2;
  u32 qf[L::kQInRegs ? kMTiles : 1][L::kQInRegs ? L::kHeadDim / 16 : 1][4];
  if constexpr (L::kQInRegs) {
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
      for (int kk = 0; kk < L::kHeadDim / 16; ++kk)
        ldmatrix_x4(qf[mt][kk], q_lane + (mt * 16 * L::kRowElems + kk * 16) * 2);
  }

  float o[kMTiles][kDT][4];
  float m_run[kMTiles][2], l_run[kMTiles][2];
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
    for (int d = 0; d < kDT; ++d) o[mt][d][0] = o[mt][d][1] = o[mt][d][2] = o[mt][d][3] = 0.0f;
    m_run[mt][0] = m_run[mt][1] = neg_inf();
    l_run[mt][0] = l_run[mt][1] = 0.0f;
  }
  const float scale = p.scale_log2;
  // This lane's key row and 16-byte chunk (0 or 1) for the K (B of QK^T) and V (B of PV,
  // transposed) ldmatrix loads; each load adds whole 16-row and 2-chunk steps.
  const int k_row = wn * kKW + (lane & 7) + (lane >> 4) * 8, k_chunk = (lane >> 3) & 1;
  const int v_row = wn * kKW + (lane & 7) + ((lane >> 3) & 1) * 8, v_chunk = lane >> 4;

  for (int it = 0; it < n_tiles; ++it) {
    const u32 st = kv.next_tile(cta, tid);
    const int k0 = cta.key_begin + it * L::kBlockN;
    kv.clear_tail(st, k0, p, cta, tid);

    // S = Q K^T for this warp's kKW keys.
    float s[kMTiles][kNT][4];
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
      for (int n = 0; n < kNT; ++n) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < L::kHeadDim / 16; ++kk) {
      u32 a[kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        if constexpr (L::kQInRegs) {
#pragma unroll
          for (int i = 0; i < 4; ++i) a[mt][i] = qf[mt][kk][i];
        } else {
          ldmatrix_x4(a[mt], q_lane + (mt * 16 * L::kRowElems + kk * 16) * 2);
        }
      }
#pragma unroll
      for (int nn = 0; nn < kKW / 16; ++nn) {
        u32 kb[4];
        ldmatrix_x4(kb, st + L::kv_lane_offset(k_row, k_chunk, nn * 16, kk * 2));
        const u32 b0[2] = {kb[0], kb[1]}, b1[2] = {kb[2], kb[3]};
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          mma_16816(Element(), s[mt][2 * nn], a[mt], b0);
          mma_16816(Element(), s[mt][2 * nn + 1], a[mt], b1);
        }
      }
    }

    // Mask (only the tiles at the end of the split or under the causal diagonal).
    if (k0 + L::kBlockN > mask_free_end) {
      const int key0 = k0 + wn * kKW + 2 * (lane & 3);
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int n = 0; n < kNT; ++n)
#pragma unroll
          for (int e = 0; e < 4; ++e)
            if (key0 + n * 8 + (e & 1) > lim[mt][e >> 1]) s[mt][n][e] = neg_inf();
    }

    // Online softmax (log2 units); row state is shared by the 4 lanes of a quad.
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float mx = neg_inf();
#pragma unroll
        for (int n = 0; n < kNT; ++n) mx = fmaxf(mx, fmaxf(s[mt][n][2 * h], s[mt][n][2 * h + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float m_new = fmaxf(m_run[mt][h], mx * scale);
        const float m_use = m_new == neg_inf() ? 0.0f : m_new;
        const float alpha = fast_exp2(m_run[mt][h] - m_use);
        m_run[mt][h] = m_new;
        float ls = 0.0f;
#pragma unroll
        for (int n = 0; n < kNT; ++n) {
          s[mt][n][2 * h] = fast_exp2(fmaf(s[mt][n][2 * h], scale, -m_use));
          s[mt][n][2 * h + 1] = fast_exp2(fmaf(s[mt][n][2 * h + 1], scale, -m_use));
          ls += s[mt][n][2 * h] + s[mt][n][2 * h + 1];
        }
        l_run[mt][h] = l_run[mt][h] * alpha + ls;
#pragma unroll
        for (int d = 0; d < kDT; ++d) {
          o[mt][d][2 * h] *= alpha;
          o[mt][d][2 * h + 1] *= alpha;
        }
      }

      // O += P V: P from the score registers (C layout == A layout pairs), V via ldmatrix.trans.
#pragma unroll
    for (int kk = 0; kk < kKW / 16; ++kk) {
      u32 a[kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < kMTiles; ++mt) {
        a[mt][0] = pack2<Element>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
        a[mt][1] = pack2<Element>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
        a[mt][2] = pack2<Element>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
        a[mt][3] = pack2<Element>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
      }
#pragma unroll
      for (int dn = 0; dn < L::kHeadDim / 16; ++dn) {
        u32 vb[4];
        ldmatrix_x4_trans(vb, st + L::kTileBytes + L::kv_lane_offset(v_row, v_chunk, kk * 16, dn * 2));
        const u32 b0[2] = {vb[0], vb[1]}, b1[2] = {vb[2], vb[3]};
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
          mma_16816(Element(), o[mt][2 * dn], a[mt], b0);
          mma_16816(Element(), o[mt][2 * dn + 1], a[mt], b1);
        }
      }
    }
  }

  // Drain the ring, then reuse it for the merge slabs.
  cp_async_wait<0>();
  __syncthreads();
  float* slab = reinterpret_cast<float*>(smem + L::kQBytes);
  float* slab_m = slab + L::kPartials * L::kSlabRows * L::kSlabStride;
  float* slab_l = slab_m + L::kPartials * L::kSlabRows;
#pragma unroll
  for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int lr = (wm * kMTiles + mt) * 16 + (lane >> 2) + h * 8;
      float l = l_run[mt][h];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      float* orow = slab + (wn * L::kSlabRows + lr) * L::kSlabStride + 2 * (lane & 3);
#pragma unroll
      for (int d = 0; d < kDT; ++d) {
        orow[d * 8] = o[mt][d][2 * h];
        orow[d * 8 + 1] = o[mt][d][2 * h + 1];
      }
      if ((lane & 3) == 0) {
        slab_m[wn * L::kSlabRows + lr] = m_run[mt][h];
        slab_l[wn * L::kSlabRows + lr] = l;
      }
    }
  __syncthreads();
}

}  // namespace decode
}  // namespace gqf
