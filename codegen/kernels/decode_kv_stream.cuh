// Decode family: the K/V tiles of a CTA's key range, copied global -> shared through a
// kStages-deep ring (used by both inner loops). Two rings with one interface:
//   KvRing     every thread's cp.async copies (KvStream: one thread's share of each tile); each
//              copy asks L2 for its whole 128-byte line (the stream reads all of it soon after)
//   KvTmaRing  thread 0 posts each tile as TMA box copies (tensor maps, 128-byte swizzle) onto
//              the stage's mbarrier; consumers wait on the barrier's phase
// Interface: init, prologue (kStages - 1 tiles in flight), wait_q (Q's cp.async group landed),
// next_tile (wait for the next tile, refill the stage freed by the previous one, return the
// tile's stage address), clear_tail (zero V rows past the keys of a partial last tile that the
// copy did not zero), and kv_offset in the Layout for addresses inside a stage.
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

/// What both rings track: the CTA's tiles, the next one to fill and its stage, the stage the
/// consumers read next and the parity of its fill. `Ring::issue` fills one tile.
template <typename L, typename Ring>
struct RingCursor {
  int n_tiles;  // tiles of the CTA's key range
  int next;     // next tile to load
  int stage;    // its ring stage
  int cstage;   // stage of the next tile to consume
  u32 phase;    // parity of that stage's fill

  __device__ __forceinline__ void start(const CtaWork& cta) {
    n_tiles = ceil_div(cta.key_end - cta.key_begin, L::kBlockN);
    next = stage = cstage = 0;
    phase = 0;
  }
  __device__ __forceinline__ void filled() {
    ++next;
    stage = stage + 1 == L::kStages ? 0 : stage + 1;
  }
  __device__ __forceinline__ void consumed() {
    if (++cstage == L::kStages) {
      cstage = 0;
      phase ^= 1u;
    }
  }
  /// kStages - 1 tiles in flight.
  __device__ __forceinline__ void prologue(const CtaWork& cta, int tid) {
#pragma unroll
    for (int s = 0; s < L::kStages - 1; ++s) static_cast<Ring*>(this)->issue(cta, tid);
  }
};

/// The cp.async K/V ring of one CTA: its stream and its cursor.
template <typename L>
struct KvRing : RingCursor<L, KvRing<L>> {
  typedef RingCursor<L, KvRing<L>> Cursor;
  using Cursor::cstage, Cursor::n_tiles, Cursor::next, Cursor::stage;
  KvStream<L> stream;
  u32 pipe;  // ring base (shared address)

  __device__ __forceinline__ void init(const GqaParams& p, const CtaWork& cta, int tid, u32 smem_base,
                                       const KvTensorMaps*) {
    typedef typename L::Element Element;
    const Element* kbase = static_cast<const Element*>(p.k) + cta.b * p.k_stride_b + cta.kv_head * p.k_stride_h;
    const Element* vbase = static_cast<const Element*>(p.v) + cta.b * p.v_stride_b + cta.kv_head * p.v_stride_h;
    pipe = smem_base + L::kQBytes;
    Cursor::start(cta);
    stream.init(kbase, vbase, p.k_stride_s, p.v_stride_s, cta.key_begin, tid);
  }

  /// Starts copying the next tile (if any is left) into its stage as one commit group; past the
  /// last tile the group is empty, so every thread's group count stays the same.
  __device__ __forceinline__ void issue(const CtaWork& cta, int tid) {
    if (next < n_tiles) stream.load_next(pipe + stage * L::kStageBytes, cta.key_end, tid);
    cp_async_commit();
    Cursor::filled();
  }

  /// Q's copies were committed before the prologue's groups.
  __device__ __forceinline__ void wait_q() {
    cp_async_wait<L::kStages - 1>();
    __syncthreads();
  }

  __device__ __forceinline__ u32 next_tile(const CtaWork& cta, int tid) {
    cp_async_wait<L::kStages - 2>();
    __syncthreads();  // the tile visible to all; the stage of the previous tile free for refill
    issue(cta, tid);
    const u32 st = pipe + cstage * L::kStageBytes;
    Cursor::consumed();
    return st;
  }

  /// Rows past the keys were zero-filled by the copies.
  __device__ __forceinline__ void clear_tail(u32, int, const GqaParams&, const CtaWork&, int) {}
};

/// The TMA K/V ring of one CTA (L::kTma): thread 0 posts each tile (2 * kBoxes boxes of 64
/// columns x kBlockN keys) onto the stage's mbarrier; rows past the tensor's kv_len arrive as
/// zeros, rows past the CTA's keys but inside the tensor arrive as they are (clear_tail).
template <typename L>
struct KvTmaRing : RingCursor<L, KvTmaRing<L>> {
  typedef RingCursor<L, KvTmaRing<L>> Cursor;
  using Cursor::cstage, Cursor::n_tiles, Cursor::next, Cursor::phase, Cursor::stage;
  const KvTensorMaps* maps;
  u32 pipe;  // ring base, 1024-byte aligned
  u32 bars;  // kStages mbarriers, one per stage

  __device__ __forceinline__ void init(const GqaParams&, const CtaWork& cta, int tid, u32 smem_base,
                                       const KvTensorMaps* m) {
    maps = m;
    pipe = (smem_base + L::kQBytes + 1023u) & ~1023u;
    bars = smem_base + L::kBarOffset;
    Cursor::start(cta);
    if (tid == 0) {
#pragma unroll
      for (int s = 0; s < L::kStages; ++s) mbar_init(bars + 8 * s, 1);
      mbar_init_fence();
    }
    // Other threads wait on the barriers only after a __syncthreads (wait_q or next_tile).
  }

  __device__ __forceinline__ void issue(const CtaWork& cta, int tid) {
    if (tid == 0 && next < n_tiles) {
      const u32 bar = bars + 8 * stage;
      mbar_arrive_expect_tx(bar, L::kStageBytes);
      const u32 dst = pipe + stage * L::kStageBytes;
      const int row = cta.key_begin + next * L::kBlockN;
#pragma unroll
      for (int box = 0; box < L::kBoxes; ++box) {
        tma_load_4d(dst + box * L::kBoxBytes, maps->k, box * L::kBoxCols, row, cta.kv_head, cta.b, bar);
        tma_load_4d(dst + L::kTileBytes + box * L::kBoxBytes, maps->v, box * L::kBoxCols, row, cta.kv_head, cta.b, bar);
      }
    }
    Cursor::filled();
  }

  __device__ __forceinline__ void wait_q() {
    cp_async_wait<0>();
    __syncthreads();
  }

  __device__ __forceinline__ u32 next_tile(const CtaWork& cta, int tid) {
    __syncthreads();  // every thread is done with the previous tile: its stage may be refilled
    issue(cta, tid);
    mbar_wait(bars + 8 * cstage, phase);
    const u32 st = pipe + cstage * L::kStageBytes;
    Cursor::consumed();
    return st;
  }

  /// The tile starting at key k0 of stage `st`: zeroes its V rows from the CTA's last key to the
  /// tensor's end (real memory, possibly never written, which P = 0 would not cancel if it held
  /// NaN). Only a sequence's last tile can have such rows; the condition is uniform over the CTA.
  __device__ __forceinline__ void clear_tail(u32 st, int k0, const GqaParams& p, const CtaWork& cta, int tid) {
    const int lo = cta.key_end - k0, hi = imin(L::kBlockN, p.kv_len - k0);
    if (lo >= hi) return;
    constexpr int kPerRow = L::kBoxes * 8;  // 16-byte chunks of one row
    for (int c = tid; c < (hi - lo) * kPerRow; c += L::kThreads) {
      const int row = lo + c / kPerRow, rem = c % kPerRow;
      st_shared_zero_16(st + L::kTileBytes + (rem >> 3) * L::kBoxBytes + row * 128 + (rem & 7) * 16);
    }
    __syncthreads();
  }
};

/// The ring a kernel's traits ask for.
template <typename L>
using KvPipe = typename Select<L::kTma, KvTmaRing<L>, KvRing<L>>::type;

}  // namespace decode
}  // namespace gqf
