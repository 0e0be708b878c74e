// Decode attention kernel family (q_len 1..16 new tokens against a KV cache), split-KV
// (flash-decoding) with an LSE combine, either fused into the last CTA or as a second kernel.
//
// One CTA handles one (KV split, KV head, sequence) and all G*q_len query rows of that KV head
// (or a 1/row_blocks share of them when they do not fit in registers), so each K/V element
// is read from HBM once per step. K/V tiles of kBlockN keys stream through a kStages-deep ring
// in shared memory, filled either by every thread's cp.async (rows padded by 16 bytes:
// conflict-free ldmatrix and 16-byte loads for every head dim, including 96 which has no
// power-of-two swizzle) or, with kTma (sm_90+, head dim a multiple of 64), by TMA tile copies
// through tensor maps into 128-byte swizzled boxes, posted by one thread on per-stage
// mbarriers. The TMA kernel takes the tensor maps as a second argument. Two inner loops:
//   kUseMma  tensor cores: the query rows form the M dimension of m16n8k16 mma.sync (padded to
//            16); warps are split kWarpsM (rows) x kWarpsN (keys of each tile).
//   !kUseMma CUDA cores: kLanesPerKey lanes share one key, each owns 8 head-dim elements;
//            for G*q_len <= 8 rows, where an mma would waste most of its 16 rows.
// Each warp (or lane group) keeps its own online-softmax state over its keys; the states are
// merged through shared memory at the end. Scores live in log2 units: s * scale_log2.
//
// Output of a CTA (n = keys of the sequence, n_active = splits that hold at least one key):
//   n_active <= 1  the CTA of split 0 writes O (+LSE) directly (no workspace traffic);
//   n_active >= 2  every active split writes NORMALISED fp32 partial O (O_s / l_s) and its
//                  natural-log partial LSE into o_partial / lse_partial; the combine computes
//                  O = sum_s e^(lse_s - m) O_s / sum_s e^(lse_s - m), LSE = m + ln(sum ...).
// Split-KV workspace (floats, in this order, no padding; GqaParams points into it):
//   o_partial   [num_splits][batch][q_len][n_q_heads][head_dim]
//   lse_partial [num_splits][batch][q_len][n_q_heads]
//   counters    u32 [batch][n_kv_heads], directly after lse_partial (fused combine only):
//               zero before the first launch of a workspace layout; the last CTA of each
//               (sequence, KV head) resets its counter, so replays need no memset.
//
// The pieces, one header each (vocabulary: docs/kernel-contract.md):
//   decode_layout.cuh     Layout: compile-time shapes, warp split, shared-memory map
//   decode_work.cuh       CtaWork: the (sequence, KV head, split, row block) of a CTA, its keys
//   decode_kv_stream.cuh  KvStream / KvRing: the K/V tiles through the cp.async ring
//   decode_mma.cuh        run_mma: the tensor-core inner loop
//   decode_simt.cuh       run_simt: the CUDA-core inner loop
//   decode_epilogue.cuh   Epilogue: merge of the per-warp softmax states, O/LSE or partials
//   decode_combine.cuh    combine_row / combine_kernel: the split-KV combine
// This header holds the main kernel and the entry points.
#pragma once

#include "common.cuh"
#include "decode_layout.cuh"
#include "decode_work.cuh"
#include "decode_kv_stream.cuh"
#include "decode_epilogue.cuh"
#include "decode_combine.cuh"
#include "decode_mma.cuh"
#include "decode_simt.cuh"

namespace gqf {
namespace decode {

/// The main kernel: one (split, row block) of one (sequence, KV head); `maps` (TMA kernels
/// only, else null) are the K/V tensor maps.
template <typename Traits>
__device__ __forceinline__ void main_kernel(const GqaParams& p, const KvTensorMaps* maps) {
  typedef Layout<Traits> L;
  extern __shared__ __align__(16) unsigned char smem[];
  if (threadIdx.x == 0 && dynamic_smem_size() < static_cast<u32>(L::kSharedBytes)) __trap();
  // Lets the combine kernel, if one follows, start once every CTA of this grid is running; it
  // waits for this grid's completion before it reads the partials.
  launch_dependent_grids();

  CtaWork cta;
  if (!cta.init<L>(p)) {
    // A sequence without keys: split 0 writes O = 0 and LSE = -inf; idle splits just leave.
    if (cta.n_active == 0 && cta.split == 0) Epilogue<L>::store(p, cta, nullptr, true, true);
    return;
  }

  if constexpr (L::kUseMma) {
    run_mma<L>(p, cta, smem, maps);
  } else {
    run_simt<L>(p, cta, smem, maps);
  }
  const float* slab = reinterpret_cast<const float*>(smem + L::kQBytes);
  const bool final_out = cta.n_active == 1;
  Epilogue<L>::store(p, cta, slab, final_out, false);
  if (final_out) return;

  if constexpr (L::kFusedCombine) {
    // Publish the partials, then count this CTA in; the last one of the (sequence, KV head)
    // merges every split and resets the counter for the next launch.
    volatile int* flag = reinterpret_cast<volatile int*>(smem + L::kSharedBytes - 16);
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
      unsigned* counter = reinterpret_cast<unsigned*>(p.lse_partial + static_cast<long long>(p.num_splits) * p.batch *
                                                                          L::kQLen * p.n_q_heads) +
                          cta.b * p.n_kv_heads + cta.kv_head;
      const unsigned target = static_cast<unsigned>(cta.n_active * L::kRowBlocks);
      const unsigned old = atomicAdd(counter, 1u);
      const bool last = old + 1 == target;
      if (last) atomicExch(counter, 0u);
      *flag = last ? 1 : 0;
    }
    __syncthreads();
    if (*flag == 0) return;
    __threadfence();
    const int warp = threadIdx.x >> 5;
    for (int r = warp; r < L::kRows; r += L::kWarps) {
      const int t = r / L::kGroup;
      combine_row<L, 1>(p, cta.b, t, cta.kv_head * L::kGroup + (r - t * L::kGroup), cta.n_active, 0, nullptr);
    }
  }
}

}  // namespace decode
}  // namespace gqf

// The TMA kernels' source defines GQF_DECODE_TMA before including this header (the emitter
// writes it with kTma): their main entry point takes the tensor maps as a second argument.
#if defined(GQF_DECODE_TMA)
#define GQF_DECODE_MAIN_ARGS const GqaParams p, const __grid_constant__ KvTensorMaps maps
#define GQF_DECODE_MAPS &maps
#define GQF_DECODE_HAS_MAPS true
#else
#define GQF_DECODE_MAIN_ARGS const GqaParams p
#define GQF_DECODE_MAPS nullptr
#define GQF_DECODE_HAS_MAPS false
#endif

/// Instantiates the decode entry points for a traits struct (see docs/kernel-contract.md):
/// gqaforge_decode (grid: splits*row_blocks, n_kv, batch) and gqaforge_decode_combine
/// (grid: n_q_heads, q_len, batch; launched only for unfused split-KV).
#define GQF_DECODE_ENTRY_POINTS(Traits)                                                         \
  static_assert(Traits::kTma == GQF_DECODE_HAS_MAPS, "GQF_DECODE_TMA must match kTma");         \
  extern "C" __global__ void __launch_bounds__(gqf::decode::Layout<Traits>::kThreads, 1)        \
      gqaforge_decode(GQF_DECODE_MAIN_ARGS) {                                                   \
    gqf::decode::main_kernel<Traits>(p, GQF_DECODE_MAPS);                                       \
  }                                                                                             \
  extern "C" __global__ void __launch_bounds__(gqf::decode::Layout<Traits>::kCombineWarps * 32) \
      gqaforge_decode_combine(const GqaParams p) {                                              \
    gqf::decode::combine_kernel<Traits>(p);                                                     \
  }
