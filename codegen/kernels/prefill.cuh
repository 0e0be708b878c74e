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
#include "wgmma.cuh"

namespace gqf {
namespace prefill {

/// Compile-time shapes of one generated prefill kernel.
template <typename Traits>
struct Layout {
  typedef typename Traits::Element Element;
  static constexpr int kHeadDim = Traits::kHeadDim;
  static constexpr int kGroup = Traits::kGroup;
  static constexpr bool kCausal = Traits::kCausal;
  static constexpr int kBlockM = Traits::kBlockM;    // rows per CTA (packed rows with kPackGqa)
  static constexpr int kBlockN = Traits::kBlockN;    // keys per tile
  static constexpr int kWarps = Traits::kWarps;
  static constexpr int kStages = Traits::kStages;    // K/V tiles resident in the ring
  static constexpr bool kPackGqa = Traits::kPackGqa;
  static constexpr bool kQInRegs = Traits::kQInRegs;

  static constexpr int kThreads = kWarps * 32;
  static constexpr int kWarpRows = kBlockM / kWarps;
  static constexpr int kMTiles = kWarpRows / 16;     // m16 tiles per warp
  static constexpr int kNTiles = kBlockN / 8;        // n8 tiles of S per warp
  static constexpr int kDTiles = kHeadDim / 8;       // n8 tiles of O per warp
  static constexpr int kKSteps = kHeadDim / 16;      // k16 steps of QK^T
  static constexpr int kPSteps = kBlockN / 16;       // k16 steps of PV
  static constexpr int kChunks = kHeadDim / 8;       // 16-byte chunks per row
  static constexpr int kRowBytes = (kHeadDim + 8) * 2;  // padded shared-memory row
  static constexpr int kQBytes = kBlockM * kRowBytes;
  static constexpr int kTileBytes = kBlockN * kRowBytes;  // one K or one V tile
  static constexpr int kStageBytes = 2 * kTileBytes;      // K tile then V tile
  static constexpr int kSharedBytes = kQBytes + kStages * kStageBytes;

  static_assert(kHeadDim % 16 == 0, "head dim must be a multiple of 16");
  static_assert(kBlockM % (16 * kWarps) == 0, "block_m must be 16 * warps * k");
  static_assert(kMTiles >= 1 && kMTiles <= 4, "1..4 m16 tiles per warp");
  static_assert(kBlockN % 16 == 0, "block_n must be a multiple of 16");
  static_assert(kStages >= 2, "the K/V ring needs at least two stages");
  static_assert(kGroup >= 1, "group must be positive");
  static_assert(kSharedBytes == Traits::kSharedBytes,
                "shared-memory layout disagrees with the host's prefill_launch");
};

/// Extents and base offsets (in elements) of one sequence for one CTA.
struct SeqInfo {
  int q_len;            // query tokens of this sequence
  int kv_len;           // keys of this sequence
  long long q_tok0;     // first token index (varlen offset, else 0)
  long long k_tok0;
  long long q_base, k_base, v_base, o_base;  // batch offsets (0 for varlen)
  long long lse_row0;   // first LSE row of this sequence ([rows, n_q] layout)
};

__device__ __forceinline__ SeqInfo seq_info(const GqaParams& p, int b) {
  SeqInfo s;
  s.q_len = p.q_len;
  s.kv_len = p.kv_len;
  s.q_tok0 = 0;
  s.k_tok0 = 0;
  s.q_base = b * p.q_stride_b;
  s.o_base = b * p.o_stride_b;
  s.k_base = b * p.k_stride_b;
  s.v_base = b * p.v_stride_b;
  s.lse_row0 = static_cast<long long>(b) * p.q_len;
  if (p.cu_seqlens_q != nullptr) {
    // Packed tokens: the batch stride is unused and LSE is [total_q, n_q].
    s.q_tok0 = p.cu_seqlens_q[b];
    s.q_len = p.cu_seqlens_q[b + 1] - p.cu_seqlens_q[b];
    s.q_base = 0;
    s.o_base = 0;
    s.lse_row0 = s.q_tok0;
  }
  if (p.cu_seqlens_k != nullptr) {
    s.k_tok0 = p.cu_seqlens_k[b];
    s.kv_len = p.cu_seqlens_k[b + 1] - p.cu_seqlens_k[b];
    s.k_base = 0;
    s.v_base = 0;
  } else if (p.kv_lens != nullptr) {
    s.kv_len = p.kv_lens[b];
  }
  return s;
}

/// Maps a CTA row (0..kBlockM) to its query token and query head.
template <typename L>
struct RowMap {
  int row0;     // first global (packed) row of the CTA
  int head;     // KV head when packing, else query head
  __device__ __forceinline__ int token(int r) const {
    int g = row0 + r;
    return L::kPackGqa ? g / L::kGroup : g;
  }
  __device__ __forceinline__ int q_head(int r) const {
    return L::kPackGqa ? head * L::kGroup + (row0 + r) % L::kGroup : head;
  }
};

// ---------------------------------------------------------------------------------------------
// The work of one CTA: which (sequence, head, row block) its index names, and which K/V tiles
// its rows see.
// ---------------------------------------------------------------------------------------------
template <typename L>
struct CtaWork {
  SeqInfo s;
  RowMap<L> rows;
  int kv_head;
  int n_tiles;  // tiles with any key a row of the CTA may see
  int n_full;   // leading tiles that no row needs masked
  int diag;     // bottom-right causal offset: token t sees keys j <= t + diag

  /// Decodes blockIdx.x; false when the CTA's rows lie past its sequence's end (varlen).
  /// Launch order. Causal: heaviest work first: heads (and then sequences) vary fastest, row
  /// blocks slowest and reversed, so the long causal row blocks of every head start in the first
  /// wave and the short ones fill the tail. Non-causal (every block costs the same): row blocks
  /// vary fastest, so the CTAs resident at once share the K/V of one or two heads in L2 instead
  /// of each streaming a different head's K/V from memory.
  __device__ __forceinline__ bool init(const GqaParams& p) {
    const int heads = L::kPackGqa ? p.n_kv_heads : p.n_q_heads;
    const int rows_per_seq = L::kPackGqa ? p.q_len * L::kGroup : p.q_len;
    const int m_blocks = (rows_per_seq + L::kBlockM - 1) / L::kBlockM;
    const unsigned bid = blockIdx.x;
    const unsigned head_seqs = static_cast<unsigned>(heads) * static_cast<unsigned>(p.batch);
    const unsigned head_seq = L::kCausal ? bid % head_seqs : bid / static_cast<unsigned>(m_blocks);
    const int head = static_cast<int>(head_seq % static_cast<unsigned>(heads));
    const int b = static_cast<int>(head_seq / static_cast<unsigned>(heads));
    const int m_block = L::kCausal ? m_blocks - 1 - static_cast<int>(bid / head_seqs)
                                   : static_cast<int>(bid % static_cast<unsigned>(m_blocks));
    s = seq_info(p, b);
    rows.row0 = m_block * L::kBlockM;
    rows.head = head;
    const int seq_rows = L::kPackGqa ? s.q_len * L::kGroup : s.q_len;
    if (rows.row0 >= seq_rows) return false;
    kv_head = L::kPackGqa ? head : head / L::kGroup;
    diag = s.kv_len - s.q_len;
    // Key bounds (exclusive) of the first and last token of the CTA.
    const int t_first = rows.token(0);
    const int t_last = imin(s.q_len - 1, rows.token(L::kBlockM - 1));
    int lim_lo = s.kv_len, lim_hi = s.kv_len;
    if (L::kCausal) {
      lim_lo = imax(0, imin(s.kv_len, t_first + 1 + diag));
      lim_hi = imax(0, imin(s.kv_len, t_last + 1 + diag));
    }
    n_tiles = (lim_hi + L::kBlockN - 1) / L::kBlockN;
    n_full = lim_lo / L::kBlockN;
    return true;
  }

  /// First K and V element of this CTA's sequence and KV head.
  __device__ __forceinline__ const typename L::Element* k_rows(const GqaParams& p) const {
    return static_cast<const typename L::Element*>(p.k) + s.k_base + s.k_tok0 * p.k_stride_s +
           static_cast<long long>(kv_head) * p.k_stride_h;
  }
  __device__ __forceinline__ const typename L::Element* v_rows(const GqaParams& p) const {
    return static_cast<const typename L::Element*>(p.v) + s.v_base + s.k_tok0 * p.v_stride_s +
           static_cast<long long>(kv_head) * p.v_stride_h;
  }
};

// ---------------------------------------------------------------------------------------------
// Global -> shared tile loads (cp.async, 16 bytes per thread and step, zero-fill past the end).
// ---------------------------------------------------------------------------------------------
template <typename L>
struct TileLoader {
  typedef typename L::Element Element;

  /// Q rows of the CTA: each packed row has its own (token, head) address.
  static __device__ __forceinline__ void load_q(u32 q_smem, const Element* q, const SeqInfo& s,
                                                const RowMap<L>& rows, const GqaParams& p, int tid) {
    constexpr int kTotal = L::kBlockM * L::kChunks;
    constexpr int kIters = (kTotal + L::kThreads - 1) / L::kThreads;
#pragma unroll
    for (int it = 0; it < kIters; ++it) {
      int i = tid + it * L::kThreads;
      if (kTotal % L::kThreads == 0 || i < kTotal) {
        int r = i / L::kChunks, c = i % L::kChunks;
        int t = rows.token(r);
        bool valid = t < s.q_len;
        const Element* src = q;
        if (valid) {
          src = q + s.q_base + (s.q_tok0 + t) * p.q_stride_s +
                static_cast<long long>(rows.q_head(r)) * p.q_stride_h + c * 8;
        }
        cp_async_16(q_smem + r * L::kRowBytes + c * 16, src, valid);
      }
    }
  }

  /// K/V rows are padded to a power-of-two number of 16-byte chunks (head_dim 96: 12 of 16
  /// active) so that each thread copies one fixed chunk of rows r0, r0 + kRowStep, ...
  static constexpr int kLoadChunks = L::kChunks <= 8 ? 8 : L::kChunks <= 16 ? 16 : 32;
  static constexpr int kRowStep = L::kThreads / kLoadChunks;
  static constexpr int kTileIters = (L::kBlockN + kRowStep - 1) / kRowStep;
  static_assert(L::kThreads % kLoadChunks == 0, "threads must cover whole padded rows");
};

/// The stream of K/V tiles of one CTA, from key 0 upwards. Keeps only what a thread needs for
/// its own copies (two advancing global pointers, its row, a row budget), because this state
/// is live through the whole main loop, next to the O and S accumulators.
template <typename L>
struct KVStream {
  typedef typename L::Element Element;
  typedef TileLoader<L> TL;
  const Element* k_src;  // this thread's first element in the next K tile
  const Element* v_src;
  int row;               // first tile row this thread copies (>= kBlockN: idle thread)
  int rows_left;         // keys of the sequence from the next tile's first key on
  u32 smem_off;          // byte offset of (row, chunk) inside a tile

  __device__ __forceinline__ void init(const Element* k, const Element* v, const GqaParams& p, int kv_len,
                                       int tid) {
    const int chunk = tid % TL::kLoadChunks;
    row = tid / TL::kLoadChunks;
    // Idle lanes of padded rows never copy: park them past the tile.
    if (TL::kLoadChunks != L::kChunks && chunk >= L::kChunks) row = L::kBlockN;
    k_src = k + row * p.k_stride_s + chunk * 8;
    v_src = v + row * p.v_stride_s + chunk * 8;
    rows_left = kv_len;
    smem_off = row * L::kRowBytes + chunk * 16;
  }

  /// Copies the next K and V tile into a ring slot (K at `dst`, V after it) and advances.
  /// Keys past the sequence end are zero-filled (their global memory is never read), so the
  /// masked P = 0 entries never meet NaN garbage in V.
  __device__ __forceinline__ void load_next(u32 dst, const GqaParams& p) {
#pragma unroll
    for (int it = 0; it < TL::kTileIters; ++it) {
      const int r = row + it * TL::kRowStep;
      if (r < L::kBlockN) {
        const bool valid = r < rows_left;
        const u32 d = dst + smem_off + it * TL::kRowStep * L::kRowBytes;
        cp_async_16(d, k_src + it * TL::kRowStep * p.k_stride_s, valid);
        cp_async_16(d + L::kTileBytes, v_src + it * TL::kRowStep * p.v_stride_s, valid);
      }
    }
    k_src += L::kBlockN * p.k_stride_s;
    v_src += L::kBlockN * p.v_stride_s;
    rows_left -= L::kBlockN;
  }
};

// ---------------------------------------------------------------------------------------------
// Warp-level inner products on mma.sync m16n8k16 (the part a wgmma variant replaces).
// ---------------------------------------------------------------------------------------------
template <typename L>
struct WarpMma {
  typedef typename L::Element Element;
  typedef u32 QFrag[L::kQInRegs ? L::kMTiles : 1][L::kQInRegs ? L::kKSteps : 1][4];

  /// Lane offsets (bytes) of the ldmatrix row addresses inside a Q, K or V tile.
  /// Q (A, x4): matrices (rows 0-7, k 0-7), (rows 8-15, k 0-7), (rows 0-7, k 8-15), (8-15, 8-15).
  static __device__ __forceinline__ u32 q_lane(int lane) {
    return (lane % 16) * L::kRowBytes + (lane / 16) * 16;
  }
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
        for (int ks = 0; ks < L::kKSteps; ++ks)
          ldmatrix_x4(qf[mt][ks], q_warp + mt * 16 * L::kRowBytes + ks * 32);
    }
  }

  /// s = Q K^T for the warp's rows and one K tile (s is overwritten).
  static __device__ __forceinline__ void qk(float (&s)[L::kMTiles][L::kNTiles][4], const QFrag& qf,
                                            u32 q_warp, u32 k_tile) {
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

// ---------------------------------------------------------------------------------------------
// Online softmax over the m16n8 accumulator layout: a thread holds rows lane/4 and lane/4 + 8 of
// each m-tile ("half" 0 and 1), columns 2*(lane%4) + {0,1} of each n8 tile; a row is spread over
// the 4 lanes of a quad.
// ---------------------------------------------------------------------------------------------
template <typename L>
struct OnlineSoftmax {
  typedef typename L::Element Element;
  float row_max[L::kMTiles][2];  // running max of raw scores (not scaled)
  float row_sum[L::kMTiles][2];  // this lane's partial sum of 2^(scaled - max); quad-reduced at the end

  __device__ __forceinline__ void init() {
#pragma unroll
    for (int mt = 0; mt < L::kMTiles; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        row_max[mt][h] = neg_inf();
        row_sum[mt][h] = 0.0f;
      }
  }

  /// Sets scores of keys a row may not see to -inf: keys at or past the sequence end and, when
  /// causal, keys past the row's token + diag. `key0` is this lane's first column in the tile,
  /// `lane_row0` the global (packed) row of the lane's first row.
  static __device__ __forceinline__ void mask(float (&s)[L::kMTiles][L::kNTiles][4], int key0, int lane_row0,
                                              int diag, int kv_len) {
#pragma unroll
    for (int mt = 0; mt < L::kMTiles; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int r = lane_row0 + mt * 16 + h * 8;
        const int token = L::kPackGqa ? r / L::kGroup : r;
        const int limit = L::kCausal ? imin(kv_len, token + 1 + diag) : kv_len;
#pragma unroll
        for (int nt = 0; nt < L::kNTiles; ++nt)
#pragma unroll
          for (int e = 2 * h; e < 2 * h + 2; ++e) {
            if (key0 + nt * 8 + (e & 1) >= limit) s[mt][nt][e] = neg_inf();
          }
      }
  }

  /// Folds one score tile into the running statistics, rescales o, and writes P (bf16/fp16,
  /// A-fragment layout) for the PV product.
  __device__ __forceinline__ void update(float (&s)[L::kMTiles][L::kNTiles][4],
                                         float (&o)[L::kMTiles][L::kDTiles][4],
                                         u32 (&pf)[L::kMTiles][L::kPSteps][4], float scale_log2) {
#pragma unroll
    for (int mt = 0; mt < L::kMTiles; ++mt) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        float mx = row_max[mt][h];
#pragma unroll
        for (int nt = 0; nt < L::kNTiles; ++nt) mx = fmaxf(mx, fmaxf(s[mt][nt][2 * h], s[mt][nt][2 * h + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        // A row that has seen only masked keys keeps max -inf; subtracting 0 instead keeps
        // every exponent -inf (p = 0) rather than NaN.
        const float max_scaled = mx == neg_inf() ? 0.0f : mx * scale_log2;
        const float corr = fast_exp2(row_max[mt][h] * scale_log2 - max_scaled);
        row_max[mt][h] = mx;
        float sum = 0.0f;
#pragma unroll
        for (int nt = 0; nt < L::kNTiles; ++nt) {
#pragma unroll
          for (int e = 2 * h; e < 2 * h + 2; ++e) {
            s[mt][nt][e] = fast_exp2(fmaf(s[mt][nt][e], scale_log2, -max_scaled));
            sum += s[mt][nt][e];
          }
        }
        row_sum[mt][h] = row_sum[mt][h] * corr + sum;
#pragma unroll
        for (int dt = 0; dt < L::kDTiles; ++dt) {
          o[mt][dt][2 * h] *= corr;
          o[mt][dt][2 * h + 1] *= corr;
        }
      }
#pragma unroll
      for (int kk = 0; kk < L::kPSteps; ++kk) {
        pf[mt][kk][0] = pack2<Element>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
        pf[mt][kk][1] = pack2<Element>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
        pf[mt][kk][2] = pack2<Element>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
        pf[mt][kk][3] = pack2<Element>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
      }
    }
  }

  /// Completes the quad sums; afterwards row_sum is the full softmax denominator.
  __device__ __forceinline__ void finish() {
#pragma unroll
    for (int mt = 0; mt < L::kMTiles; ++mt)
#pragma unroll
      for (int h = 0; h < 2; ++h) row_sum[mt][h] = warp_sum<4>(row_sum[mt][h]);
  }
};

// ---------------------------------------------------------------------------------------------
// Epilogue: O / sum through the warp's own rows of the Q buffer, then 16-byte global stores.
// ---------------------------------------------------------------------------------------------
template <typename L>
struct Epilogue {
  typedef typename L::Element Element;

  static __device__ __forceinline__ void store(const float (&o)[L::kMTiles][L::kDTiles][4],
                                               const OnlineSoftmax<L>& sm, u32 stage_warp,
                                               unsigned char* stage_warp_ptr, int warp_row0,
                                               const RowMap<L>& rows, const SeqInfo& s,
                                               const GqaParams& p, int lane) {
    // Only this warp ever reads its rows of the Q buffer, so a warp barrier suffices.
    __syncwarp();
#pragma unroll
    for (int mt = 0; mt < L::kMTiles; ++mt) {
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const float inv = sm.row_sum[mt][h] > 0.0f ? 1.0f / sm.row_sum[mt][h] : 0.0f;
        const int r = mt * 16 + h * 8 + lane / 4;
#pragma unroll
        for (int dt = 0; dt < L::kDTiles; ++dt) {
          u32 v = pack2<Element>(o[mt][dt][2 * h] * inv, o[mt][dt][2 * h + 1] * inv);
          *reinterpret_cast<u32*>(stage_warp_ptr + r * L::kRowBytes + dt * 16 + (lane % 4) * 4) = v;
        }
        if (p.lse != nullptr && lane % 4 == 0) {
          const int t = rows.token(warp_row0 + r);
          if (t < s.q_len) {
            const float mx = sm.row_max[mt][h];
            const float lse = lse_from_log2(mx == neg_inf() ? neg_inf() : mx * p.scale_log2, sm.row_sum[mt][h]);
            p.lse[(s.lse_row0 + t) * p.n_q_heads + rows.q_head(warp_row0 + r)] = lse;
          }
        }
      }
    }
    __syncwarp();
    Element* out = static_cast<Element*>(p.o);
    constexpr int kTotal = L::kWarpRows * L::kChunks;
#pragma unroll
    for (int i0 = 0; i0 < kTotal; i0 += 32) {
      const int i = i0 + lane;
      if (kTotal % 32 == 0 || i < kTotal) {
        const int r = i / L::kChunks, c = i % L::kChunks;
        const int t = rows.token(warp_row0 + r);
        if (t < s.q_len) {
          Element* dst = out + s.o_base + (s.q_tok0 + t) * p.o_stride_s +
                         static_cast<long long>(rows.q_head(warp_row0 + r)) * p.o_stride_h + c * 8;
          st_global_16(dst, ld_shared_16(stage_warp + r * L::kRowBytes + c * 16));
        }
      }
    }
  }
};

// ---------------------------------------------------------------------------------------------
// The kernel body.
// ---------------------------------------------------------------------------------------------
template <typename Traits>
__device__ __forceinline__ void prefill_forward(const GqaParams& p) {
  typedef Layout<Traits> L;
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
    KVStream<L> kv;
    kv.init(w.k_rows(p), w.v_rows(p), p, s.kv_len, tid);

    // Prologue: Q, then tiles 0 .. kStages-2, one commit group each.
    TileLoader<L>::load_q(q_smem, static_cast<const Element*>(p.q), s, rows, p, tid);
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

// =============================================================================================
// The Hopper generation (kWgmma): the same CTA work, masking, online softmax and epilogue, with
// both products on warpgroup mma (sm_90a). Each warpgroup of 4 warps owns 64 consecutive rows
// (one m64 tile); S = Q K^T is one m64 x kBlockN product per k16 step with Q and K read by the
// tensor cores straight from 128-byte-swizzled shared memory (no ldmatrix), and O += P V takes
// P from the S accumulators in registers (the m64 accumulator layout of a warp's 16 rows is the
// mma.sync layout, so OnlineSoftmax packs P unchanged) and V from shared memory, transposed by
// the instruction. K/V tiles stream through the same kStages-deep cp.async ring.
// With two warpgroups and three or more stages the warpgroups are staggered: warpgroup 1 runs
// one tile behind (softmax of tile j - 1, then P V of j - 1 and S of j), so its softmax runs
// while warpgroup 0's S = Q K^T is on the tensor cores and warpgroup 0's softmax while its own
// products are. The products are issued and waited within each step: wgmma work in flight across
// a branch or barrier makes ptxas serialize every wgmma of the kernel.
// =============================================================================================

/// Compile-time shapes of the wgmma kernel, with the names OnlineSoftmax and Epilogue use.
template <typename Traits>
struct WgLayout {
  typedef typename Traits::Element Element;
  static constexpr int kHeadDim = Traits::kHeadDim;
  static constexpr int kGroup = Traits::kGroup;
  static constexpr bool kCausal = Traits::kCausal;
  static constexpr int kBlockM = Traits::kBlockM;
  static constexpr int kBlockN = Traits::kBlockN;
  static constexpr int kWarps = Traits::kWarps;
  static constexpr int kStages = Traits::kStages;
  static constexpr bool kPackGqa = Traits::kPackGqa;

  static constexpr int kThreads = kWarps * 32;
  static constexpr int kWarpRows = 16;                // rows of one warp (a quarter of an m64 tile)
  static constexpr int kMTiles = 1;
  static constexpr int kNTiles = kBlockN / 8;
  static constexpr int kDTiles = kHeadDim / 8;
  static constexpr int kKSteps = kHeadDim / 16;       // k16 steps of QK^T
  static constexpr int kPSteps = kBlockN / 16;        // k16 steps of PV
  static constexpr int kChunks = kHeadDim / 8;        // 16-byte chunks per row
  static constexpr int kRowBytes = (kHeadDim + 8) * 2;  // epilogue staging rows (padded)
  static constexpr int kQBytes = kBlockM * kHeadDim * 2;     // swizzled, kHeadDim / 64 panels
  static constexpr int kTileBytes = kBlockN * kHeadDim * 2;  // one K or one V tile, swizzled
  static constexpr int kStageBytes = 2 * kTileBytes;
  static constexpr int kAlign = 1024;                 // swizzle atoms are 1024-byte aligned
  static constexpr int kSharedBytes = kAlign + kQBytes + kStages * kStageBytes;
  // Two warpgroups and three or more stages: the warpgroups run half a tile apart, so that one
  // computes its softmax while the other's products run on the tensor cores. The second
  // warpgroup works one tile behind (its V reads of tile j - 1 fall in iteration j), so a slot
  // stays live one iteration longer and tiles are prefetched kStages - 2 ahead.
  static constexpr bool kStaggered = kStages >= 3 && kWarps == 8;

  static_assert(kHeadDim % 64 == 0, "the wgmma kernel needs head dim 64, 128 or 256");
  static_assert(kWarps % 4 == 0 && kBlockM == 16 * kWarps, "one m64 tile per warpgroup");
  static_assert(kBlockN % 64 == 0 && kBlockN <= 256, "block_n must be 64, 128, 192 or 256");
  static_assert(kThreads % kChunks == 0, "threads must cover whole rows");
  static_assert(kStages >= 2, "the K/V ring needs at least two stages");
  static_assert(kBlockM * kRowBytes <= kStages * kStageBytes, "the epilogue stages O in the K/V ring");
  static_assert(kSharedBytes == Traits::kSharedBytes,
                "shared-memory layout disagrees with the host's prefill_launch");
};

/// cp.async copies into swizzled tiles: Q rows gathered per packed row, K/V tiles streamed.
template <typename L>
struct SwizzledLoader {
  typedef typename L::Element Element;
  static constexpr int kRowStep = L::kThreads / L::kChunks;
  static constexpr int kTileIters = (L::kBlockN + kRowStep - 1) / kRowStep;

  static __device__ __forceinline__ void load_q(u32 q_smem, const Element* q, const SeqInfo& s,
                                                const RowMap<L>& rows, const GqaParams& p, int tid) {
    constexpr int kTotal = L::kBlockM * L::kChunks;
    static_assert(kTotal % L::kThreads == 0, "Q copies split evenly");
#pragma unroll
    for (int it = 0; it < kTotal / L::kThreads; ++it) {
      const int i = tid + it * L::kThreads;
      const int r = i / L::kChunks, c = i % L::kChunks;
      const int t = rows.token(r);
      const bool valid = t < s.q_len;
      const Element* src = q;
      if (valid) {
        src = q + s.q_base + (s.q_tok0 + t) * p.q_stride_s + static_cast<long long>(rows.q_head(r)) * p.q_stride_h +
              c * 8;
      }
      cp_async_16(q_smem + wgmma::swizzled_offset(r, c * 8, L::kBlockM), src, valid);
    }
  }

  // K/V stream state of one thread: it copies chunk `chunk` of rows row, row + kRowStep, ...
  const Element* k_src;
  const Element* v_src;
  int row;
  int chunk;
  int rows_left;

  __device__ __forceinline__ void init(const Element* k, const Element* v, const GqaParams& p, int kv_len, int tid) {
    chunk = tid % L::kChunks;
    row = tid / L::kChunks;
    k_src = k + row * p.k_stride_s + chunk * 8;
    v_src = v + row * p.v_stride_s + chunk * 8;
    rows_left = kv_len;
  }

  /// Copies the next K tile to `dst` and V tile after it (keys past the end zero-filled).
  __device__ __forceinline__ void load_next(u32 dst, const GqaParams& p) {
#pragma unroll
    for (int it = 0; it < kTileIters; ++it) {
      const int r = row + it * kRowStep;
      if (kTileIters * kRowStep == L::kBlockN || r < L::kBlockN) {
        const bool valid = r < rows_left;
        const u32 d = dst + wgmma::swizzled_offset(r, chunk * 8, L::kBlockN);
        cp_async_16(d, k_src + it * kRowStep * p.k_stride_s, valid);
        cp_async_16(d + L::kTileBytes, v_src + it * kRowStep * p.v_stride_s, valid);
      }
    }
    k_src += L::kBlockN * p.k_stride_s;
    v_src += L::kBlockN * p.v_stride_s;
    rows_left -= L::kBlockN;
  }
};

/// The two warpgroup products of one K/V tile, issued asynchronously (commit, no wait).
template <typename L>
struct WgMma {
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
__device__ __forceinline__ void prefill_forward_wgmma(const GqaParams& p) {
  typedef WgLayout<Traits> L;
  typedef typename L::Element Element;
  typedef WgMma<L> Mma;
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
    SwizzledLoader<L> kv;
    kv.init(w.k_rows(p), w.v_rows(p), p, s.kv_len, tid);
    SwizzledLoader<L>::load_q(q_smem, static_cast<const Element*>(p.q), s, w.rows, p, tid);
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
    int slot = 0;  // ring slot of tile j
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
