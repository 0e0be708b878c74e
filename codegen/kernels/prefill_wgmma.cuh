// Prefill family, the Hopper generation (kWgmma): the same CTA work, masking, online softmax and
// epilogue, with both products on warpgroup mma (sm_90a). Each warpgroup of 4 warps owns 64
// consecutive rows (one m64 tile); S = Q K^T is one m64 x kBlockN product per k16 step with Q and
// K read by the tensor cores straight from 128-byte-swizzled shared memory (no ldmatrix), and
// O += P V takes P from the S accumulators in registers (the m64 accumulator layout of a warp's
// 16 rows is the mma.sync layout, so OnlineSoftmax packs P unchanged) and V from shared memory,
// transposed by the instruction. K/V tiles stream through the same kStages-deep cp.async ring.
// With two warpgroups and three or more stages the warpgroups are staggered: warpgroup 1 runs one
// tile behind (softmax of tile j - 1, then P V of j - 1 and S of j), so its softmax runs while
// warpgroup 0's S = Q K^T is on the tensor cores and warpgroup 0's softmax while its own products
// are. The products are issued and waited within each step: wgmma work in flight across a branch
// or barrier makes ptxas serialize every wgmma of the kernel.
// This header: the two products (WarpgroupMma) and the kernel body, forward_wgmma.
#pragma once

#include "prefill_epilogue.cuh"
#include "prefill_wgmma_layout.cuh"
#include "prefill_wgmma_loads.cuh"
#include "wgmma.cuh"

namespace gqf {
namespace prefill {

/// The two warpgroup products of one K/V tile, issued asynchronously (commit, no wait).
template <typename L>
struct WarpgroupMma {
  typedef typename L::Element Element;

  /// s = Q K^T for this warpgroup's 64 rows (`q_wg`: its rows in panel 0) and the K tile.
  static __device__ __forceinline__ void issue_qk(float (&s)[L::kNTiles][4], u32 q_wg, u32 k_tile) {
#pragma unroll
    for (int ks = 0; ks < L::kKSteps; ++ks) {
      const u32 k_off = (ks % 4) * 32;  // 16 elements = 32 bytes into the 128-byte row
      const u64 da = wgmma::make_desc(q_wg + (ks / 4) * L::kBlockM * 128 + k_off, 16, 1024);
      const u64 db = wgmma::make_desc(k_tile + (ks / 4) * L::kBlockN * 128 + k_off, 16, 1024);
      wgmma::mma_ss<L::kBlockN, Element>(s, da, db, ks > 0 ? 1 : 0);
    }
    wgmma::commit();
  }

  /// o += P V; each k16 step covers 16 keys (two 8-row groups of V) and the whole head dim
  /// (kHeadDim / 64 panels, kBlockN * 128 bytes apart).
  static __device__ __forceinline__ void issue_pv(float (&o)[L::kDTiles][4], const u32 (&pf)[L::kPSteps][4],
                                                  u32 v_tile) {
#pragma unroll
    for (int kk = 0; kk < L::kPSteps; ++kk) {
      const u64 db = wgmma::make_desc(v_tile + kk * 16 * 128, L::kBlockN * 128, 1024);
      wgmma::mma_rs<L::kHeadDim, Element>(o, pf[kk], db, 1);
    }
    wgmma::commit();
  }
};

template <typename Traits>
__device__ __forceinline__ void forward_wgmma(const GqaParams& p) {
  typedef WgmmaLayout<Traits> L;
  typedef typename L::Element Element;
  typedef WarpgroupMma<L> Mma;
  alignas(16) extern __shared__ unsigned char smem[];

  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int warpgroup = warp / 4;
  CtaWork<L> w;
  if (!w.init(p)) return;
  const SeqInfo& s = w.s;

  const u32 raw_base = smem_addr(smem);
  const u32 base = (raw_base + L::kAlign - 1) & ~static_cast<u32>(L::kAlign - 1);
  const u32 q_smem = base;
  const u32 kv_smem = base + L::kQBytes;
  const int warp_row0 = warp * L::kWarpRows;
  const int lane_row0 = w.rows.row0 + warp_row0 + lane / 4;

  float o[1][L::kDTiles][4];
#pragma unroll
  for (int dt = 0; dt < L::kDTiles; ++dt)
#pragma unroll
    for (int e = 0; e < 4; ++e) o[0][dt][e] = 0.0f;
  OnlineSoftmax<L> softmax;
  softmax.init();

  if (w.n_tiles > 0) {
    // Ring discipline. A tile's slot is free once every warp has passed the next tile's
    // barrier, so tiles are prefetched kStages - 1 ahead; staggered, warpgroup 1 reads V of
    // tile j - 1 in iteration j, so a slot is free one barrier later: kStages - 2 ahead.
    constexpr int kAhead = L::kStaggered ? L::kStages - 2 : L::kStages - 1;
    SwizzledKvStream<L> kv;
    kv.init(w.k_rows(p), w.v_rows(p), p, s.kv_len, tid);
    SwizzledQLoader<L>::load(q_smem, static_cast<const Element*>(p.q), s, w.rows, p, tid);
    cp_async_commit();
#pragma unroll
    for (int st = 0; st < kAhead; ++st) {
      if (st < w.n_tiles) kv.load_next(kv_smem + st * L::kStageBytes, p);
      cp_async_commit();
    }
    const u32 q_wg = q_smem + warpgroup * 64 * 128;  // this warpgroup's rows of panel 0
    // Staggered: warpgroup 1 processes tile j - 1 in iteration j (one iteration behind).
    // Read through a shuffle so the compiler knows the value is uniform across each warp.
    const bool behind = L::kStaggered && __shfl_sync(0xffffffffu, warpgroup, 0) == 1;

    float sc[1][L::kNTiles][4];  // scores of the tile being processed (behind: of tile j - 1)
    u32 pf[1][L::kPSteps][4];
    int slot = 0;    // ring slot of tile j
    u32 prev_v = 0;  // V tile of the previous iteration (behind)
    // Masks (where the tile needs it) and folds the scores of tile t into the softmax state,
    // rescales O and leaves P in pf.
    auto softmax_tile = [&](int t) {
      if (t >= w.n_full) {
        OnlineSoftmax<L>::mask(sc, t * L::kBlockN + (lane % 4) * 2, lane_row0, w.diag, s.kv_len);
      }
      softmax.update(sc, o, pf, p.scale_log2);
    };
    for (int j = 0; j < w.n_tiles; ++j) {
      cp_async_wait<kAhead - 1>();  // tile j has landed (this thread's copies)
      wgmma::fence_proxy_async();   // ... and is visible to the tensor cores' reads
      __syncthreads();
      int load_slot = slot + kAhead;
      if (load_slot >= L::kStages) load_slot -= L::kStages;
      if (j + kAhead < w.n_tiles) kv.load_next(kv_smem + load_slot * L::kStageBytes, p);
      cp_async_commit();
      const u32 k_tile = kv_smem + slot * L::kStageBytes;
      const u32 v_tile = k_tile + L::kTileBytes;

      if (!behind) {
        // S_j, softmax, O += P_j V_j.
        wgmma::fence();
        Mma::issue_qk(sc[0], q_wg, k_tile);
        wgmma::wait<0>();
        wgmma::pin(sc[0]);
        softmax_tile(j);
        wgmma::fence();
        Mma::issue_pv(o[0], pf[0], v_tile);
        wgmma::wait<0>();
        wgmma::pin(o[0]);
        wgmma::pin(pf[0]);
      } else {
        // Softmax of S_{j-1} (while warpgroup 0 computes S_j), O += P_{j-1} V_{j-1}, S_j.
        if (j == 0) {
          wgmma::fence();
          Mma::issue_qk(sc[0], q_wg, k_tile);
          wgmma::wait<0>();
          wgmma::pin(sc[0]);
        } else {
          softmax_tile(j - 1);
          wgmma::fence();
          Mma::issue_pv(o[0], pf[0], prev_v);
          Mma::issue_qk(sc[0], q_wg, k_tile);
          wgmma::wait<0>();
          wgmma::pin(sc[0]);
          wgmma::pin(o[0]);
          wgmma::pin(pf[0]);
        }
        prev_v = v_tile;
      }
      slot = slot + 1 == L::kStages ? 0 : slot + 1;
    }
    if (behind) {
      // The last tile.
      softmax_tile(w.n_tiles - 1);
      wgmma::fence();
      Mma::issue_pv(o[0], pf[0], prev_v);
      wgmma::wait<0>();
      wgmma::pin(o[0]);
      wgmma::pin(pf[0]);
    }
    cp_async_wait<0>();
  }
  // Every warp is done with the ring before the epilogue stages O in it.
  __syncthreads();

  softmax.finish();
  const u32 stage_warp = kv_smem + warp_row0 * L::kRowBytes;
  Epilogue<L>::store(o, softmax, stage_warp, smem + (stage_warp - raw_base), warp_row0, w.rows, s, p, lane);
}

}  // namespace prefill
}  // namespace gqf
