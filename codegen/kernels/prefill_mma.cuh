// Prefill family, mma.sync generation: the warp-level products QK^T and PV on m16n8k16, and the
// kernel body (Q load, the K/V tile loop with its ring discipline, softmax and epilogue).
#pragma once

#include "prefill_epilogue.cuh"
#include "prefill_mma_layout.cuh"
#include "prefill_mma_loads.cuh"

namespace gqf {
namespace prefill {

/// Warp-level inner products on mma.sync m16n8k16 (the part a wgmma variant replaces).
template <typename L>
struct WarpMma {
  typedef typename L::Element Element;
  typedef u32 QFrag[L::kQInRegs ? L::kMTiles : 1][L::kQInRegs ? L::kKSteps : 1][4];

  /// Lane offsets (bytes) of the ldmatrix row addresses inside a Q, K or V tile.
  /// Q (A, x4): matrices (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (8-15, 8-15).
  static __device__ __forceinline__ u32 q_lane(int lane) { return (lane % 16) * L::kRowBytes + (lane / 16) * 16; }
  /// K (B, x4): (keys 0-7, k 0-7), (keys 0-7, k 8-15), (keys 8-15, k 0-7), (keys 8-15, k 8-15)
  /// -> registers {0,1} are n-tile 0, {2,3} n-tile 1.
  static __device__ __forceinline__ u32 k_lane(int lane) {
    return ((lane % 8) + (lane / 16) * 8) * L::kRowBytes + ((lane / 8) % 2) * 16;
  }
  /// V (B, x4.trans): (keys 0-7, dims 0-7), (keys 8-15, dims 0-7), (keys 0-7, dims 8-15),
  /// (keys 8-15, dims 8-15) -> registers {0,1} are dim-tile 0, {2,3} dim-tile 1.
  static __device__ __forceinline__ u32 v_lane(int lane) {
    return ((lane % 8) + ((lane / 8) % 2) * 8) * L::kRowBytes + (lane / 16) * 16;
  }

  /// Q fragments of the warp's rows into registers (kQInRegs).
  static __device__ __forceinline__ void load_q(QFrag& qf, u32 q_warp) {
    if constexpr (L::kQInRegs) {
#pragma unroll
      for (int mt = 0; mt < L::kMTiles; ++mt)
#pragma unroll
        for (int ks = 0; ks < L::kKSteps; ++ks) ldmatrix_x4(qf[mt][ks], q_warp + mt * 16 * L::kRowBytes + ks * 32);
    }
  }

  /// s = Q K^T for the warp's rows and one K tile (s is overwritten).
  static __device__ __forceinline__ void qk(float (&s)[L::kMTiles][L::kNTiles][4], const QFrag& qf, u32 q_warp,
                                            u32 k_tile) {
#pragma unroll
    for (int mt = 0; mt < L::kMTiles; ++mt)
#pragma unroll
      for (int nt = 0; nt < L::kNTiles; ++nt)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[mt][nt][e] = 0.0f;
#pragma unroll
    for (int ks = 0; ks < L::kKSteps; ++ks) {
      u32 a[L::kMTiles][4];
#pragma unroll
      for (int mt = 0; mt < L::kMTiles; ++mt) {
        if constexpr (L::kQInRegs) {
#pragma unroll
          for (int e = 0; e < 4; ++e) a[mt][e] = qf[mt][ks][e];
        } else {
          ldmatrix_x4(a[mt], q_warp + mt * 16 * L::kRowBytes + ks * 32);
        }
      }
#pragma unroll
      for (int np = 0; np < L::kNTiles / 2; ++np) {
        u32 b[4];
        ldmatrix_x4(b, k_tile + np * 16 * L::kRowBytes + ks * 32);
        const u32 b0[2] = {b[0], b[1]}, b1[2] = {b[2], b[3]};
#pragma unroll
        for (int mt = 0; mt < L::kMTiles; ++mt) {
          mma_16816(Element(), s[mt][2 * np], a[mt], b0);
          mma_16816(Element(), s[mt][2 * np + 1], a[mt], b1);
        }
      }
    }
  }

  /// o += P V for one V tile; P is in A-fragment form (two n8 score tiles per k16 step).
  static __device__ __forceinline__ void pv(float (&o)[L::kMTiles][L::kDTiles][4],
                                            const u32 (&pf)[L::kMTiles][L::kPSteps][4], u32 v_tile) {
#pragma unroll
    for (int kk = 0; kk < L::kPSteps; ++kk) {
#pragma unroll
      for (int dp = 0; dp < L::kDTiles / 2; ++dp) {
        u32 b[4];
        ldmatrix_x4_trans(b, v_tile + kk * 16 * L::kRowBytes + dp * 32);
        const u32 b0[2] = {b[0], b[1]}, b1[2] = {b[2], b[3]};
#pragma unroll
        for (int mt = 0; mt < L::kMTiles; ++mt) {
          mma_16816(Element(), o[mt][2 * dp], pf[mt][kk], b0);
          mma_16816(Element(), o[mt][2 * dp + 1], pf[mt][kk], b1);
        }
      }
    }
  }
};

/// The kernel body of the mma.sync generation.
template <typename Traits>
__device__ __forceinline__ void forward_mma(const GqaParams& p) {
  typedef MmaLayout<Traits> L;
  typedef typename L::Element Element;
  alignas(16) extern __shared__ unsigned char smem[];

  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  CtaWork<L> w;
  if (!w.init(p)) return;  // varlen: the grid is sized by the longest sequence
  const SeqInfo& s = w.s;
  const RowMap<L>& rows = w.rows;
  const int n_tiles = w.n_tiles, n_full = w.n_full;

  const u32 smem_base = smem_addr(smem);
  const u32 q_smem = smem_base;
  const u32 kv_smem = smem_base + L::kQBytes;
  const int warp_row0 = warp * L::kWarpRows;
  const u32 q_warp = q_smem + warp_row0 * L::kRowBytes;

  // Masking needs each row's key limit; it is recomputed on masked tiles only, from these two
  // values, rather than kept live through the loop.
  const int lane_row0 = rows.row0 + warp_row0 + lane / 4;  // global row of this lane's first row

  float o[L::kMTiles][L::kDTiles][4];
#pragma unroll
  for (int mt = 0; mt < L::kMTiles; ++mt)
#pragma unroll
    for (int dt = 0; dt < L::kDTiles; ++dt)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[mt][dt][e] = 0.0f;
  OnlineSoftmax<L> softmax;
  softmax.init();

  if (n_tiles > 0) {
    KvStream<L> kv;
    kv.init(w.k_rows(p), w.v_rows(p), p, s.kv_len, tid);

    // Prologue: Q, then tiles 0 .. kStages-2, one commit group each.
    QLoader<L>::load(q_smem, static_cast<const Element*>(p.q), s, rows, p, tid);
    cp_async_commit();
#pragma unroll
    for (int st = 0; st < L::kStages - 1; ++st) {
      if (st < n_tiles) kv.load_next(kv_smem + st * L::kStageBytes, p);
      cp_async_commit();
    }

    typename WarpMma<L>::QFrag qf;
    if constexpr (L::kQInRegs) {
      cp_async_wait<L::kStages - 1>();  // the Q group
      __syncthreads();
      WarpMma<L>::load_q(qf, q_warp + WarpMma<L>::q_lane(lane));
    }
    const u32 q_lane_addr = q_warp + WarpMma<L>::q_lane(lane);
    const u32 k_lane_off = WarpMma<L>::k_lane(lane);
    const u32 v_lane_off = L::kTileBytes + WarpMma<L>::v_lane(lane);

    int slot = 0;  // ring slot of tile j
    for (int j = 0; j < n_tiles; ++j) {
      cp_async_wait<L::kStages - 2>();  // tile j has landed (this thread's copies)
      // All copies of tile j are visible, and every warp is done with tile j-1, whose slot the
      // prefetch below overwrites.
      __syncthreads();
      const int load_slot = slot == 0 ? L::kStages - 1 : slot - 1;
      if (j + L::kStages - 1 < n_tiles) kv.load_next(kv_smem + load_slot * L::kStageBytes, p);
      cp_async_commit();
      const u32 stage = kv_smem + slot * L::kStageBytes;

      float sc[L::kMTiles][L::kNTiles][4];
      WarpMma<L>::qk(sc, qf, q_lane_addr, stage + k_lane_off);
      if (j >= n_full) {
        OnlineSoftmax<L>::mask(sc, j * L::kBlockN + (lane % 4) * 2, lane_row0, w.diag, s.kv_len);
      }
      u32 pf[L::kMTiles][L::kPSteps][4];
      softmax.update(sc, o, pf, p.scale_log2);
      WarpMma<L>::pv(o, pf, stage + v_lane_off);

      slot = slot + 1 == L::kStages ? 0 : slot + 1;
    }
    cp_async_wait<0>();
  }

  softmax.finish();
  Epilogue<L>::store(o, softmax, q_warp, smem + warp_row0 * L::kRowBytes, warp_row0, rows, s, p, lane);
}

}  // namespace prefill
}  // namespace gqf
