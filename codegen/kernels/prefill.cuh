// Prefill attention kernel template, two generations: a FlashAttention-2-class forward pass on
// mma.sync (prefill_mma.cuh), and the Hopper generation on warpgroup mma (kWgmma,
// prefill_wgmma.cuh), which shares the CTA work decoding, masking, online softmax and epilogue.
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
// The pieces, one header each (vocabulary: docs/kernel-contract.md). Shared by both generations:
//   prefill_work.cuh          SeqInfo / RowMap / CtaWork: which sequence (fixed or varlen),
//                             tokens and heads a CTA's rows are, and which K/V tiles they see
//   prefill_softmax.cuh       OnlineSoftmax: masking, running max/sum, rescaling, P packing
//   prefill_epilogue.cuh      Epilogue: normalisation, O through shared memory with 16-byte
//                             stores, LSE
// mma.sync generation:
//   prefill_mma_layout.cuh    MmaLayout: compile-time shapes and the shared-memory map (must
//                             match the host's prefill_launch; checked against kSharedBytes)
//   prefill_mma_loads.cuh     QLoader / KvStream: Q rows and the K/V tiles into padded rows
//   prefill_mma.cuh           WarpMma (QK^T and PV on m16n8k16) and the body, forward_mma
// wgmma generation:
//   prefill_wgmma_layout.cuh  WgmmaLayout: the same for 128-byte-swizzled tiles
//   prefill_wgmma_loads.cuh   SwizzledQLoader / SwizzledKvStream: the same into swizzled tiles
//   prefill_wgmma.cuh         WarpgroupMma (the two products on wgmma) and the body,
//                             forward_wgmma
// This header picks the generation and defines the entry point.
#pragma once

#include "common.cuh"
#include "prefill_mma.cuh"
#include "prefill_wgmma.cuh"

namespace gqf {
namespace prefill {

/// Picks the generation the traits ask for (a template, so only that body is instantiated).
template <typename Traits>
__device__ __forceinline__ void forward(const GqaParams& p) {
  if constexpr (Traits::kWgmma) {
    forward_wgmma<Traits>(p);
  } else {
    forward_mma<Traits>(p);
  }
}

}  // namespace prefill
}  // namespace gqf

/// Defines the prefill entry point for a traits struct (see docs/kernel-contract.md).
#define GQF_PREFILL_ENTRY_POINTS(Traits)                                                   \
  extern "C" __global__ void __launch_bounds__(Traits::kWarps * 32, Traits::kMinCtasPerSm) \
      gqaforge_prefill(const GqaParams p) {                                                \
    gqf::prefill::forward<Traits>(p);                                                      \
  }
