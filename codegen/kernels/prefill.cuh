// Prefill attention kernel template, two generations: a FlashAttention-2-class forward pass on
// mma.sync (below), and the Hopper generation on warpgroup mma (kWgmma, at the end of the file),
// which shares the CTA work decoding, masking, online softmax and epilogue.
//
// One CTA computes kBlockM query rows of one (sequence, head) against all keys it may see.
// Rows are query tokens of one query head, or — with kPackGqa — (token, head-in-group) pairs of
// the kGroup query heads that share one KV head, so that every K/V tile brought into shared
// memory serves all G heads. Each warp owns kWarpRows = 16 * kMTiles consecutive rows.
//
// Per KV tile (kBlockN keys): S = Q K^T (mma m16n8k16, fp32 accumulators; Q fragments in
// registers or re-read from shared memory, K fragments via ldmatrix), a mask on the tiles that
// need one (sequence end, bottom-right causal diagonal), an online softmax in log2 units with
// the softmax scale folded into one FFMA per score, and O += P V with P taken straight from the
// S accumulators (the m16n8 accumulator layout of two adjacent n-tiles is the m16k16 A-fragment
// layout) and V fragments via ldmatrix.trans. K/V tiles stream through a kStages-deep ring of
// cp.async buffers; one barrier per tile. Causal CTAs skip every tile above their diagonal and
// CTAs are numbered heaviest first (row blocks reversed, heads fastest).
//
// The pieces (W: used by the wgmma generation too):
//   Layout        compile-time shapes and the shared-memory map (must match the host's
//                 prefill_launch; checked against Traits::kSharedBytes); WgLayout for wgmma
//   SeqInfo/RowMap/CtaWork (W) which sequence (fixed or varlen), tokens and heads a CTA's rows
//                 are, and which K/V tiles they see
//   TileLoader    global -> shared copy of the Q rows (gathered per packed row)
//   KVStream      the K/V tile stream through the cp.async ring
//   WarpMma       the two warp-level matrix products (QK^T and PV) on mma.sync
//   OnlineSoftmax (W) running max/sum, masking, rescaling, P packing
//   Epilogue      (W) normalisation, O through shared memory with 16-byte stores, LSE
//   SwizzledLoader, WgMma  the wgmma generation's loads into swizzled tiles and its products
//
// Shared memory rows are padded by 16 bytes: a row of D elements spans D/8+1 16-byte units, an
// odd number, so the 8 row addresses of one ldmatrix phase hit 8 distinct bank groups (this also
// covers head_dim 96, whose 12 units per row rule out the usual XOR-8 swizzle), and the padding
// keeps every fragment address linear in the tile indices (immediate offsets in LDSM).
#pragma once

#include "common.cuh"
#include "prefill_mma.cuh"
#include "prefill_wgmma.cuh"

namespace gqf {
namespace prefill {

/// Picks the generation the traits ask for (a template, so only that body is instantiated).
template <typename Traits>
__device__ __forceinline__ void prefill_dispatch(const GqaParams& p) {
  if constexpr (Traits::kWgmma) {
    prefill_forward_wgmma<Traits>(p);
  } else {
    prefill_forward<Traits>(p);
  }
}

}  // namespace prefill
}  // namespace gqf

/// Defines the prefill entry point for a traits struct (see docs/kernel-contract.md).
#define GQF_PREFILL_ENTRY_POINTS(Traits)                                                          \
  extern "C" __global__ void __launch_bounds__(Traits::kWarps * 32, Traits::kMinCtasPerSm)       \
      gqaforge_prefill(const GqaParams p) {                                                        \
    gqf::prefill::prefill_dispatch<Traits>(p);                                                     \
  }
