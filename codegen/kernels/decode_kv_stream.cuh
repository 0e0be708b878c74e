// Decode family: the K/V tiles of a CTA's key range, copied global -> shared through the
// kStages-deep cp.async ring (used by both inner loops): KvStream, one thread's share of the
// copies of each tile, and KvRing, which tile and ring stage come next. Each copy asks L2 for
// its whole 128-byte line (the stream reads every byte of it soon after).
#pragma once

#include "decode_work.cuh"

namespace gqf {
namespace decode {

/// cp.async of the K/V tiles of a split, in order (rows >= key_end are zero-filled). Each thread
/// keeps running pointers so that a tile costs one 64-bit add per 16-byte copy.
template <typename L>
struct KvStream {
  typedef typename L::Element Element;
  static constexpr bool kEven = L::kThreads % L::kChunks == 0;  // head dim 96 is not
  static constexpr int kRowsPerIter = kEven ? L::kThreads / L::kChunks : 1;
  static constexpr int kIters = kEven ? (L::kBlockN + kRowsPerIter - 1) / kRowsPerIter
                                      : (L::kBlockN * L::kChunks + L::kThreads - 1) / L::kThreads;
  const char* kp;  // this thread's first K chunk of the next tile
  const char* vp;
  const char* ksafe;  // a valid address for zero-filled copies
  const char* vsafe;
  long long kss_bytes, vss_bytes;  // key strides in bytes
  u32 dst0;                        // this thread's first chunk inside a stage (bytes)
  int row0;                        // key row of that chunk inside the tile
  int next_k0;                     // first key of the next tile

  __device__ __forceinline__ void init(const Element* kbase, const Element* vbase, long long kss, long long vss,
                                       int key_begin, int tid) {
    kss_bytes = kss * 2;
    vss_bytes = vss * 2;
    ksafe = reinterpret_cast<const char*>(kbase);
    vsafe = reinterpret_cast<const char*>(vbase);
    int col;
    if constexpr (kEven) {
      col = tid % L::kChunks;
      row0 = tid / L::kChunks;
    } else {
      col = 0;
      row0 = 0;
    }
    kp = ksafe + (key_begin + row0) * kss_bytes + col * 16;
    vp = vsafe + (key_begin + row0) * vss_bytes + col * 16;
    dst0 = row0 * L::kRowBytes + col * 16;
    next_k0 = key_begin;
  }

  /// Issues the next tile into the stage at `stage_smem` and advances.
  __device__ __forceinline__ void load_next(u32 stage_smem, int key_end, int tid) {
    if constexpr (kEven) {
      const int rows_left = key_end - next_k0 - row0;  // rows i*kRowsPerIter < rows_left are valid
      const bool full = next_k0 + L::kBlockN <= key_end;
      const char* k = kp;
      const char* v = vp;
      const long long kstep = kRowsPerIter * kss_bytes, vstep = kRowsPerIter * vss_bytes;
#pragma unroll
      for (int i = 0; i < kIters; ++i) {
        if (L::kBlockN % kRowsPerIter != 0 && row0 + i * kRowsPerIter >= L::kBlockN) break;
        const bool valid = full || i * kRowsPerIter < rows_left;
        const u32 dst = stage_smem + dst0 + i * kRowsPerIter * L::kRowBytes;
        cp_async_16_l2_128(dst, valid ? k : ksafe, valid);
        cp_async_16_l2_128(dst + L::kTileBytes, valid ? v : vsafe, valid);
        k += kstep;
        v += vstep;
      }
      kp += L::kBlockN * kss_bytes;
      vp += L::kBlockN * vss_bytes;
    } else {
      // 12 chunks per row do not tile the threads evenly: index math per copy.
      constexpr int kTotal = L::kBlockN * L::kChunks;
#pragma unroll
      for (int i = 0; i < kIters; ++i) {
        const int c = tid + i * L::kThreads;
        if (kTotal % L::kThreads != 0 && c >= kTotal) break;
        const int row = c / L::kChunks, col = c - row * L::kChunks;
        const bool valid = next_k0 + row < key_end;
        const u32 dst = stage_smem + row * L::kRowBytes + col * 16;
        cp_async_16_l2_128(dst, valid ? kp + row * kss_bytes + col * 16 : ksafe, valid);
        cp_async_16_l2_128(dst + L::kTileBytes, valid ? vp + row * vss_bytes + col * 16 : vsafe, valid);
      }
      kp += L::kBlockN * kss_bytes;
      vp += L::kBlockN * vss_bytes;
    }
    next_k0 += L::kBlockN;
  }
};

/// The K/V tile ring of one CTA: its stream, and which tile and ring stage it fills next.
template <typename L>
struct KvRing {
  KvStream<L> stream;
  int n_tiles;  // tiles of the CTA's key range
  int next;     // next tile to load
  int stage;    // its ring stage

  __device__ __forceinline__ void init(const GqaParams& p, const CtaWork& cta, int tid) {
    typedef typename L::Element Element;
    const Element* kbase = static_cast<const Element*>(p.k) + cta.b * p.k_stride_b + cta.kv_head * p.k_stride_h;
    const Element* vbase = static_cast<const Element*>(p.v) + cta.b * p.v_stride_b + cta.kv_head * p.v_stride_h;
    n_tiles = ceil_div(cta.key_end - cta.key_begin, L::kBlockN);
    stream.init(kbase, vbase, p.k_stride_s, p.v_stride_s, cta.key_begin, tid);
    next = 0;
    stage = 0;
  }

  /// Starts copying the next tile (if any is left) into its stage as one commit group; past the
  /// last tile the group is empty, so every thread's group count stays the same.
  __device__ __forceinline__ void issue(u32 pipe_smem, const CtaWork& cta, int tid) {
    if (next < n_tiles) stream.load_next(pipe_smem + stage * L::kStageBytes, cta.key_end, tid);
    cp_async_commit();
    ++next;
    stage = stage + 1 == L::kStages ? 0 : stage + 1;
  }
};

}  // namespace decode
}  // namespace gqf
