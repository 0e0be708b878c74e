// Decode attention kernel family (q_len 1..16 new tokens against a KV cache), split-KV
// (flash-decoding) with an LSE combine, either fused into the last CTA or as a second kernel.
//
// One CTA handles one (KV split, KV head, sequence) and all G*q_len query rows of that KV head
// (or a 1/row_blocks share of them when they do not fit in registers), so each K/V element
// is read from HBM once per step. K/V tiles of kBlockN keys stream through a kStages-deep
// cp.async ring in shared memory (rows padded by 16 bytes: conflict-free ldmatrix and 16-byte
// loads for every head dim, including 96 which has no power-of-two swizzle). Two inner loops:
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
#pragma once

namespace gqf {
namespace decode {

// ---------------------------------------------------------------------------------------------
// Small primitives local to this family.
// ---------------------------------------------------------------------------------------------

/// The dynamic shared memory size the CTA was launched with (guards host/device drift).
__device__ __forceinline__ u32 dynamic_smem_size() {
  u32 r;
  asm("mov.u32 %0, %%dynamic_smem_size;" : "=r"(r));
  return r;
}

/// 16-byte read-only global load (Q is read once per CTA).
__device__ __forceinline__ u32x4 ld_global_nc_16(const void* p) {
  u32x4 v;
  asm volatile("ld.global.nc.v4.b32 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

/// L2-coherent loads of the split workspace: written by other CTAs of the same launch when the
/// combine is fused, so L1 must not serve them.
__device__ __forceinline__ void ld_cg_f32x4(const float* p, float (&v)[4]) {
  asm volatile("ld.global.cg.v4.f32 {%0,%1,%2,%3}, [%4];\n"
               : "=f"(v[0]), "=f"(v[1]), "=f"(v[2]), "=f"(v[3])
               : "l"(p));
}
__device__ __forceinline__ float ld_cg_f32(const float* p) {
  float v;
  asm volatile("ld.global.cg.f32 %0, [%1];\n" : "=f"(v) : "l"(p));
  return v;
}
__device__ __forceinline__ void st_global_f32x4(float* p, float a, float b, float c, float d) {
  asm volatile("st.global.v4.f32 [%0], {%1,%2,%3,%4};\n" ::"l"(p), "f"(a), "f"(b), "f"(c), "f"(d)
               : "memory");
}

/// Eight 16-bit values (one 16-byte chunk) to floats.
template <typename E>
__device__ __forceinline__ void unpack8(const u32x4& v, float (&f)[8]) {
  unpack2(E(), v.x, f[0], f[1]);
  unpack2(E(), v.y, f[2], f[3]);
  unpack2(E(), v.z, f[4], f[5]);
  unpack2(E(), v.w, f[6], f[7]);
}

// ---------------------------------------------------------------------------------------------
// Compile-time geometry. decode_config.cpp mirrors these formulas (shared memory size, rows).
// ---------------------------------------------------------------------------------------------
template <class T>
struct Geom {
  typedef typename T::Element E;
  static constexpr int kD = T::kHeadDim;
  static constexpr int kG = T::kGroup;
  static constexpr int kQL = T::kQLen;
  static constexpr bool kCausal = T::kCausal;
  static constexpr bool kMma = T::kUseMma;
  static constexpr bool kFused = T::kFusedCombine;
  static constexpr int kBlockN = T::kBlockN;
  static constexpr int kWarps = T::kWarps;
  static constexpr int kWarpsM = T::kWarpsM;
  static constexpr int kStages = T::kStages;
  static constexpr int kRowBlocks = T::kRowBlocks;

  static constexpr int kThreads = kWarps * 32;
  static constexpr int kRows = kG * kQL;                                 // rows of a KV head
  static constexpr int kRowsCta = (kRows + kRowBlocks - 1) / kRowBlocks;  // rows of this CTA
  static constexpr int kChunks = kD / 8;                                  // 16-byte chunks per row
  static constexpr int kSmemRow = kD + 8;                                 // padded row (elements)
  static constexpr int kSmemRowBytes = kSmemRow * 2;

  // Tensor-core path.
  static constexpr int kMTiles = (kRowsCta + 15) / 16;
  static constexpr int kMTW = (kMTiles + kWarpsM - 1) / kWarpsM;  // m16 tiles per warp
  static constexpr int kWarpsN = kWarps / kWarpsM;
  static constexpr int kQRows = kMma ? kWarpsM * kMTW * 16 : 0;   // Q rows staged in smem
  static constexpr bool kQInRegs = kMTW * kD / 4 <= 32;           // A fragments held in registers

  // CUDA-core path.
  static constexpr int kLanesPerKey = kD == 64 ? 8 : (kD == 256 ? 32 : 16);
  static constexpr int kKeysPerStep = 32 / kLanesPerKey;  // lane groups (keys) per warp

  // Keys of each tile handled by one warp, and the softmax states merged at the end.
  static constexpr int kKW = kMma ? kBlockN / kWarpsN : kBlockN / kWarps;
  static constexpr int kSteps = kKW / kKeysPerStep;  // CUDA-core: keys per lane group per tile
  static constexpr int kPartials = kMma ? kWarpsN : kWarps * kKeysPerStep;
  static constexpr int kSlabRows = kMma ? kQRows : kRowsCta;
  static constexpr int kSlabStride = kD + 4;  // floats; +4 breaks the 8-row bank pattern

  // Shared memory (bytes): [Q][pipeline ring | merge slabs][flag].
  static constexpr int kQBytes = kQRows * kSmemRowBytes;
  static constexpr int kTileBytes = kBlockN * kSmemRowBytes;  // K or V of one stage
  static constexpr int kStageBytes = 2 * kTileBytes;
  static constexpr int kPipeBytes = kStages * kStageBytes;
  static constexpr int kSlabOBytes = kPartials * kSlabRows * kSlabStride * 4;
  static constexpr int kSlabBytes = kSlabOBytes + 2 * kPartials * kSlabRows * 4;
  static constexpr int kBodyBytes = kPipeBytes > kSlabBytes ? kPipeBytes : kSlabBytes;
  static constexpr int kSmemBytes = kQBytes + kBodyBytes + 16;

  // Combine kernel: one CTA per output row, kCombineWarps warps share the splits.
  static constexpr int kCombineWarps = 8;
  static constexpr int kCombineLanes = kD == 64 ? 16 : 32;         // lanes covering one row
  static constexpr int kCombineVec = (kD / 4 + kCombineLanes - 1) / kCombineLanes;  // float4/lane
  static constexpr int kCombineSplitsPerWarp = 32 / kCombineLanes;

  static_assert(kD == 64 || kD == 96 || kD == 128 || kD == 256, "head dim");
  static_assert(kQL >= 1 && kQL <= 16, "q_len");
  static_assert(kStages >= 2, "stages");
  static_assert(kWarps % kWarpsM == 0, "warps_m must divide warps");
  static_assert(!kMma || kKW % 16 == 0, "mma: keys per warp must be a multiple of 16");
  static_assert(kMma || kKW % kKeysPerStep == 0, "cuda cores: keys per warp");
  static_assert(kMma || kWarpsM == 1, "cuda cores: warps_m must be 1");
  static_assert(kMma || kRowsCta <= 8, "cuda cores: at most 8 rows per CTA");
};

// ---------------------------------------------------------------------------------------------
// Per-CTA context: where this CTA reads and writes.
// ---------------------------------------------------------------------------------------------
struct Cta {
  int b, kvh, split, rb;
  int n;           // keys of the sequence
  int n_active;    // splits holding at least one key
  int key_begin;   // first key of this split
  int key_end;     // one past the last key of this split
};

/// Row r of a KV head (0 <= r < G*q_len) is query token r / G, query head kvh*G + r % G.
template <class C>
__device__ __forceinline__ long long q_offset(const GqaParams& p, int b, int kvh, int r) {
  const int t = r / C::kG, g = r - t * C::kG;
  return b * p.q_stride_b + t * p.q_stride_s + static_cast<long long>(kvh * C::kG + g) * p.q_stride_h;
}

// ---------------------------------------------------------------------------------------------
// cp.async of the K/V tiles of a split, in order (rows >= key_end are zero-filled). Each thread
// keeps running pointers so that a tile costs one 64-bit add per 16-byte copy.
// ---------------------------------------------------------------------------------------------
template <class C>
struct TileLoader {
  typedef typename C::E E;
  static constexpr bool kEven = C::kThreads % C::kChunks == 0;  // head dim 96 is not
  static constexpr int kRowsPerIter = kEven ? C::kThreads / C::kChunks : 1;
  static constexpr int kIters = kEven ? (C::kBlockN + kRowsPerIter - 1) / kRowsPerIter
                                      : (C::kBlockN * C::kChunks + C::kThreads - 1) / C::kThreads;
  const char* kp;     // this thread's first K chunk of the next tile
  const char* vp;
  const char* ksafe;  // a valid address for zero-filled copies
  const char* vsafe;
  long long kss_bytes, vss_bytes;  // key strides in bytes
  u32 dst0;           // this thread's first chunk inside a stage (bytes)
  int row0;           // key row of that chunk inside the tile
  int next_k0;        // first key of the next tile

  __device__ __forceinline__ void init(const E* kbase, const E* vbase, long long kss, long long vss,
                                       int key_begin, int tid) {
    kss_bytes = kss * 2;
    vss_bytes = vss * 2;
    ksafe = reinterpret_cast<const char*>(kbase);
    vsafe = reinterpret_cast<const char*>(vbase);
    int col;
    if constexpr (kEven) {
      col = tid % C::kChunks;
      row0 = tid / C::kChunks;
    } else {
      col = 0;
      row0 = 0;
    }
    kp = ksafe + (key_begin + row0) * kss_bytes + col * 16;
    vp = vsafe + (key_begin + row0) * vss_bytes + col * 16;
    dst0 = row0 * C::kSmemRowBytes + col * 16;
    next_k0 = key_begin;
  }

  /// Issues the next tile into the stage at `stage_smem` and advances.
  __device__ __forceinline__ void load(u32 stage_smem, int key_end, int tid) {
    if constexpr (kEven) {
      const int rows_left = key_end - next_k0 - row0;  // rows i*kRowsPerIter < rows_left are valid
      const bool full = next_k0 + C::kBlockN <= key_end;
      const char* k = kp;
      const char* v = vp;
      const long long kstep = kRowsPerIter * kss_bytes, vstep = kRowsPerIter * vss_bytes;
#pragma unroll
      for (int i = 0; i < kIters; ++i) {
        if (C::kBlockN % kRowsPerIter != 0 && row0 + i * kRowsPerIter >= C::kBlockN) break;
        const bool valid = full || i * kRowsPerIter < rows_left;
        const u32 dst = stage_smem + dst0 + i * kRowsPerIter * C::kSmemRowBytes;
        cp_async_16(dst, valid ? k : ksafe, valid);
        cp_async_16(dst + C::kTileBytes, valid ? v : vsafe, valid);
        k += kstep;
        v += vstep;
      }
      kp += C::kBlockN * kss_bytes;
      vp += C::kBlockN * vss_bytes;
    } else {
      // 12 chunks per row do not tile the threads evenly: index math per copy.
      constexpr int kTotal = C::kBlockN * C::kChunks;
#pragma unroll
      for (int i = 0; i < kIters; ++i) {
        const int c = tid + i * C::kThreads;
        if (kTotal % C::kThreads != 0 && c >= kTotal) break;
        const int row = c / C::kChunks, col = c - row * C::kChunks;
        const bool valid = next_k0 + row < key_end;
        const u32 dst = stage_smem + row * C::kSmemRowBytes + col * 16;
        cp_async_16(dst, valid ? kp + row * kss_bytes + col * 16 : ksafe, valid);
        cp_async_16(dst + C::kTileBytes, valid ? vp + row * vss_bytes + col * 16 : vsafe, valid);
      }
      kp += C::kBlockN * kss_bytes;
      vp += C::kBlockN * vss_bytes;
    }
    next_k0 += C::kBlockN;
  }
};

/// The K/V tile ring of one CTA: the loader, and which tile and ring stage it fills next.
template <class C>
struct KvPipe {
  TileLoader<C> loader;
  int n_tiles;  // tiles of the CTA's key range
  int next;     // next tile to load
  int stage;    // its ring stage

  __device__ __forceinline__ void init(const GqaParams& p, const Cta& cta, int tid) {
    typedef typename C::E E;
    const E* kbase = static_cast<const E*>(p.k) + cta.b * p.k_stride_b + cta.kvh * p.k_stride_h;
    const E* vbase = static_cast<const E*>(p.v) + cta.b * p.v_stride_b + cta.kvh * p.v_stride_h;
    n_tiles = ceil_div(cta.key_end - cta.key_begin, C::kBlockN);
    loader.init(kbase, vbase, p.k_stride_s, p.v_stride_s, cta.key_begin, tid);
    next = 0;
    stage = 0;
  }

  /// Starts copying the next tile (if any is left) into its stage as one commit group; past the
  /// last tile the group is empty, so every thread's group count stays the same.
  __device__ __forceinline__ void issue(u32 pipe_smem, const Cta& cta, int tid) {
    if (next < n_tiles) loader.load(pipe_smem + stage * C::kStageBytes, cta.key_end, tid);
    cp_async_commit();
    ++next;
    stage = stage + 1 == C::kStages ? 0 : stage + 1;
  }
};

// ---------------------------------------------------------------------------------------------
// Epilogue: merge the per-warp softmax states (slabs) and write O/LSE or the split partials.
// Slab layout (floats, after Q): O [kPartials][kSlabRows][kSlabStride], then M (running max,
// log2 units) [kPartials][kSlabRows], then L (row sum) [kPartials][kSlabRows].
// ---------------------------------------------------------------------------------------------
template <class C>
__device__ __forceinline__ void write_rows(const GqaParams& p, const Cta& cta, const float* slab,
                                           bool final_out, bool empty) {
  const float* slab_m = slab + C::kPartials * C::kSlabRows * C::kSlabStride;
  const float* slab_l = slab_m + C::kPartials * C::kSlabRows;
  const int row_base = cta.rb * C::kRowsCta;
  for (int idx = threadIdx.x; idx < C::kRowsCta * C::kChunks; idx += C::kThreads) {
    const int lr = idx / C::kChunks, ch = idx - lr * C::kChunks;
    const int r = row_base + lr;
    if (r >= C::kRows) break;
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    float mx = neg_inf(), sum = 0.0f;
    if (!empty) {
#pragma unroll
      for (int w = 0; w < C::kPartials; ++w) mx = fmaxf(mx, slab_m[w * C::kSlabRows + lr]);
      const float msafe = mx == neg_inf() ? 0.0f : mx;
#pragma unroll
      for (int w = 0; w < C::kPartials; ++w) {
        const float f = fast_exp2(slab_m[w * C::kSlabRows + lr] - msafe);
        sum += f * slab_l[w * C::kSlabRows + lr];
        const float* o = slab + (w * C::kSlabRows + lr) * C::kSlabStride + ch * 8;
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[e] += f * o[e];
      }
    }
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    const float lse = lse_from_log2(mx, sum);
    const int t = r / C::kG, head = cta.kvh * C::kG + (r - t * C::kG);
    if (final_out) {
      u32x4 v;
      v.x = pack2<typename C::E>(acc[0] * inv, acc[1] * inv);
      v.y = pack2<typename C::E>(acc[2] * inv, acc[3] * inv);
      v.z = pack2<typename C::E>(acc[4] * inv, acc[5] * inv);
      v.w = pack2<typename C::E>(acc[6] * inv, acc[7] * inv);
      typename C::E* o = static_cast<typename C::E*>(p.o) + cta.b * p.o_stride_b + t * p.o_stride_s +
                         head * p.o_stride_h + ch * 8;
      st_global_16(o, v);
      if (ch == 0 && p.lse != nullptr) {
        p.lse[(static_cast<long long>(cta.b) * C::kQL + t) * p.n_q_heads + head] = lse;
      }
    } else {
      const long long prow =
          ((static_cast<long long>(cta.split) * p.batch + cta.b) * C::kQL + t) * p.n_q_heads + head;
      float* o = p.o_partial + prow * C::kD + ch * 8;
      st_global_f32x4(o, acc[0] * inv, acc[1] * inv, acc[2] * inv, acc[3] * inv);
      st_global_f32x4(o + 4, acc[4] * inv, acc[5] * inv, acc[6] * inv, acc[7] * inv);
      if (ch == 0) p.lse_partial[prow] = lse;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Split combine of one output row by a team of kTeam warps (fused: 1 warp; kernel: all warps).
// ---------------------------------------------------------------------------------------------
template <class C, int kTeam>
__device__ __forceinline__ void combine_row(const GqaParams& p, int b, int t, int head, int n_active,
                                            int team_warp, float* red) {
  constexpr float kLog2e = 1.4426950408889634f;
  constexpr int kLanes = C::kCombineLanes, kVec = C::kCombineVec, kSpw = C::kCombineSplitsPerWarp;
  const int lane = threadIdx.x & 31;
  const long long split_rows = static_cast<long long>(p.batch) * C::kQL * p.n_q_heads;
  const long long row = (static_cast<long long>(b) * C::kQL + t) * p.n_q_heads + head;
  const float* lse_p = p.lse_partial + row;
  const float* o_p = p.o_partial + row * C::kD;

  // Max and sum of the split weights in one online pass (independent loads, unrolled, so a
  // few hundred splits cost one L2 round trip rather than one per 32 splits); every warp of the
  // team computes them redundantly, which saves a barrier.
  float mx = neg_inf(), sum = 0.0f;
#pragma unroll 4
  for (int s = lane; s < n_active; s += 32) {
    const float x = ld_cg_f32(lse_p + s * split_rows);
    const float m_new = fmaxf(mx, x);
    const float m_ref = m_new == neg_inf() ? 0.0f : m_new;
    sum = sum * fast_exp2((mx - m_ref) * kLog2e) + fast_exp2((x - m_ref) * kLog2e);
    mx = m_new;
  }
  // Butterfly merge of (max, sum) pairs; partners compute bit-identical results.
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const float m_o = __shfl_xor_sync(0xffffffffu, mx, o), s_o = __shfl_xor_sync(0xffffffffu, sum, o);
    const float m_new = fmaxf(mx, m_o);
    const float m_ref = m_new == neg_inf() ? 0.0f : m_new;
    sum = sum * fast_exp2((mx - m_ref) * kLog2e) + s_o * fast_exp2((m_o - m_ref) * kLog2e);
    mx = m_new;
  }
  const float msafe = mx == neg_inf() ? 0.0f : mx;

  const int sub = lane % kLanes, slot = lane / kLanes;
  float acc[kVec][4];
#pragma unroll
  for (int v = 0; v < kVec; ++v) acc[v][0] = acc[v][1] = acc[v][2] = acc[v][3] = 0.0f;
  const int first = team_warp * kSpw + slot, step = kTeam * kSpw;
#pragma unroll 8
  for (int s = first; s < n_active; s += step) {
    const float w = fast_exp2((ld_cg_f32(lse_p + s * split_rows) - msafe) * kLog2e);
#pragma unroll
    for (int v = 0; v < kVec; ++v) {
      const int c4 = sub + v * kLanes;  // float4 index in the row
      if (c4 < C::kD / 4) {
        float x[4];
        ld_cg_f32x4(o_p + s * split_rows * C::kD + c4 * 4, x);
        // A split whose rows saw no key has weight 0 and O 0: no NaN can enter.
        acc[v][0] += w * x[0];
        acc[v][1] += w * x[1];
        acc[v][2] += w * x[2];
        acc[v][3] += w * x[3];
      }
    }
  }
  if constexpr (kSpw > 1) {
#pragma unroll
    for (int v = 0; v < kVec; ++v)
#pragma unroll
      for (int e = 0; e < 4; ++e)
#pragma unroll
        for (int o = kLanes; o < 32; o <<= 1) acc[v][e] += __shfl_xor_sync(0xffffffffu, acc[v][e], o);
  }
  if constexpr (kTeam > 1) {
    // Cross-warp sum through shared memory: red[warp][D].
    if (slot == 0) {
#pragma unroll
      for (int v = 0; v < kVec; ++v) {
        const int c4 = sub + v * kLanes;
        if (c4 < C::kD / 4) {
#pragma unroll
          for (int e = 0; e < 4; ++e) red[team_warp * C::kD + c4 * 4 + e] = acc[v][e];
        }
      }
    }
    __syncthreads();
    if (team_warp != 0) return;
#pragma unroll
    for (int v = 0; v < kVec; ++v) {
      const int c4 = sub + v * kLanes;
      if (c4 < C::kD / 4 && slot == 0) {
#pragma unroll
        for (int w = 1; w < kTeam; ++w)
#pragma unroll
          for (int e = 0; e < 4; ++e) acc[v][e] += red[w * C::kD + c4 * 4 + e];
      }
    }
  }
  const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
  if (slot == 0) {
    typename C::E* o = static_cast<typename C::E*>(p.o) + b * p.o_stride_b + t * p.o_stride_s + head * p.o_stride_h;
#pragma unroll
    for (int v = 0; v < kVec; ++v) {
      const int c4 = sub + v * kLanes;
      if (c4 < C::kD / 4) {
        // 8-byte store of four elements.
        const u32 lo = pack2<typename C::E>(acc[v][0] * inv, acc[v][1] * inv);
        const u32 hi = pack2<typename C::E>(acc[v][2] * inv, acc[v][3] * inv);
        asm volatile("st.global.v2.b32 [%0], {%1,%2};\n" ::"l"(o + c4 * 4), "r"(lo), "r"(hi) : "memory");
      }
    }
  }
  if (lane == 0 && p.lse != nullptr) {
    p.lse[row] = (mx == neg_inf() || sum == 0.0f) ? neg_inf() : mx + __logf(sum);
  }
}

// ---------------------------------------------------------------------------------------------
// Tensor-core inner loop.
// ---------------------------------------------------------------------------------------------
template <class C>
__device__ __forceinline__ void run_mma(const GqaParams& p, const Cta& cta, unsigned char* smem) {
  typedef typename C::E E;
  constexpr int kMTW = C::kMTW, kKW = C::kKW, kNT = kKW / 8, kDT = C::kD / 8;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int wm = warp / C::kWarpsN, wn = warp % C::kWarpsN;
  const u32 smem_base = smem_addr(smem);
  const u32 q_smem = smem_base;
  const u32 pipe_smem = smem_base + C::kQBytes;

  KvPipe<C> kv;
  kv.init(p, cta, tid);
  const int n_tiles = kv.n_tiles;

  // Q rows of this CTA into shared memory (padding rows zero-filled): its own commit group.
  const int row_base = cta.rb * C::kRowsCta;
  for (int c = tid; c < C::kQRows * C::kChunks; c += C::kThreads) {
    const int lr = c / C::kChunks, col = c - lr * C::kChunks;
    const int r = row_base + lr;
    const bool valid = lr < C::kRowsCta && r < C::kRows;
    const E* src = static_cast<const E*>(p.q) + (valid ? q_offset<C>(p, cta.b, cta.kvh, r) : 0) + col * 8;
    cp_async_16(q_smem + lr * C::kSmemRowBytes + col * 16, src, valid);
  }
  cp_async_commit();

  // Pipeline prologue: kStages-1 tiles in flight.
#pragma unroll
  for (int s = 0; s < C::kStages - 1; ++s) kv.issue(pipe_smem, cta, tid);

  // Per-row visibility limit: key j is visible to row (mt, half) iff j <= lim.
  int lim[kMTW][2];
#pragma unroll
  for (int mt = 0; mt < kMTW; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = row_base + (wm * kMTW + mt) * 16 + (lane >> 2) + h * 8;
      const int t = r / C::kG;
      const int l = C::kCausal ? t + cta.n - C::kQL : cta.n - 1;
      lim[mt][h] = imin(l, cta.key_end - 1);
    }
  // Tiles entirely below this key need no mask.
  const int mask_free_end = C::kCausal ? imin(cta.key_end, cta.n - C::kQL + 1) : cta.key_end;

  // Q fragments (A operand), once, when they fit in registers.
  cp_async_wait<C::kStages - 1>();
  __syncthreads();
  const u32 q_lane = q_smem + ((wm * kMTW * 16 + (lane & 7) + ((lane >> 3) & 1) * 8) * C::kSmemRow + (lane >> 4) * 8) * 2;
  u32 qf[C::kQInRegs ? kMTW : 1][C::kQInRegs ? C::kD / 16 : 1][4];
  if constexpr (C::kQInRegs) {
#pragma unroll
    for (int mt = 0; mt < kMTW; ++mt)
#pragma unroll
      for (int kk = 0; kk < C::kD / 16; ++kk) ldmatrix_x4(qf[mt][kk], q_lane + (mt * 16 * C::kSmemRow + kk * 16) * 2);
  }

  float o[kMTW][kDT][4];
  float m_run[kMTW][2], l_run[kMTW][2];
#pragma unroll
  for (int mt = 0; mt < kMTW; ++mt) {
#pragma unroll
    for (int d = 0; d < kDT; ++d) o[mt][d][0] = o[mt][d][1] = o[mt][d][2] = o[mt][d][3] = 0.0f;
    m_run[mt][0] = m_run[mt][1] = neg_inf();
    l_run[mt][0] = l_run[mt][1] = 0.0f;
  }
  const float scale = p.scale_log2;
  // Lane offsets (bytes) inside a stage for the K (B of QK^T) and V (B of PV, transposed) loads.
  const u32 k_lane = ((wn * kKW + (lane & 7) + (lane >> 4) * 8) * C::kSmemRow + ((lane >> 3) & 1) * 8) * 2;
  const u32 v_lane = C::kTileBytes + ((wn * kKW + (lane & 7) + ((lane >> 3) & 1) * 8) * C::kSmemRow + (lane >> 4) * 8) * 2;

  int stage = 0;
  for (int it = 0; it < n_tiles; ++it) {
    cp_async_wait<C::kStages - 2>();
    __syncthreads();  // tile `it` visible to all; stage of tile it-1 free for refill
    kv.issue(pipe_smem, cta, tid);

    const u32 st = pipe_smem + stage * C::kStageBytes;
    stage = stage + 1 == C::kStages ? 0 : stage + 1;
    const int k0 = cta.key_begin + it * C::kBlockN;

    // S = Q K^T for this warp's kKW keys.
    float s[kMTW][kNT][4];
#pragma unroll
    for (int mt = 0; mt < kMTW; ++mt)
#pragma unroll
      for (int n = 0; n < kNT; ++n) s[mt][n][0] = s[mt][n][1] = s[mt][n][2] = s[mt][n][3] = 0.0f;
#pragma unroll
    for (int kk = 0; kk < C::kD / 16; ++kk) {
      u32 a[kMTW][4];
#pragma unroll
      for (int mt = 0; mt < kMTW; ++mt) {
        if constexpr (C::kQInRegs) {
#pragma unroll
          for (int i = 0; i < 4; ++i) a[mt][i] = qf[mt][kk][i];
        } else {
          ldmatrix_x4(a[mt], q_lane + (mt * 16 * C::kSmemRow + kk * 16) * 2);
        }
      }
#pragma unroll
      for (int nn = 0; nn < kKW / 16; ++nn) {
        u32 kb[4];
        ldmatrix_x4(kb, st + k_lane + (nn * 16 * C::kSmemRow + kk * 16) * 2);
        const u32 b0[2] = {kb[0], kb[1]}, b1[2] = {kb[2], kb[3]};
#pragma unroll
        for (int mt = 0; mt < kMTW; ++mt) {
          mma_16816(E(), s[mt][2 * nn], a[mt], b0);
          mma_16816(E(), s[mt][2 * nn + 1], a[mt], b1);
        }
      }
    }

    // Mask (only the tiles at the end of the split or under the causal diagonal).
    if (k0 + C::kBlockN > mask_free_end) {
      const int key0 = k0 + wn * kKW + 2 * (lane & 3);
#pragma unroll
      for (int mt = 0; mt < kMTW; ++mt)
#pragma unroll
        for (int n = 0; n < kNT; ++n)
#pragma unroll
          for (int e = 0; e < 4; ++e)
            if (key0 + n * 8 + (e & 1) > lim[mt][e >> 1]) s[mt][n][e] = neg_inf();
    }

    // Online softmax (log2 units); row state is shared by the 4 lanes of a quad.
#pragma unroll
    for (int mt = 0; mt < kMTW; ++mt)
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
      u32 a[kMTW][4];
#pragma unroll
      for (int mt = 0; mt < kMTW; ++mt) {
        a[mt][0] = pack2<E>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
        a[mt][1] = pack2<E>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
        a[mt][2] = pack2<E>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
        a[mt][3] = pack2<E>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
      }
#pragma unroll
      for (int dn = 0; dn < C::kD / 16; ++dn) {
        u32 vb[4];
        ldmatrix_x4_trans(vb, st + v_lane + (kk * 16 * C::kSmemRow + dn * 16) * 2);
        const u32 b0[2] = {vb[0], vb[1]}, b1[2] = {vb[2], vb[3]};
#pragma unroll
        for (int mt = 0; mt < kMTW; ++mt) {
          mma_16816(E(), o[mt][2 * dn], a[mt], b0);
          mma_16816(E(), o[mt][2 * dn + 1], a[mt], b1);
        }
      }
    }
  }

  // Drain the ring, then reuse it for the merge slabs.
  cp_async_wait<0>();
  __syncthreads();
  float* slab = reinterpret_cast<float*>(smem + C::kQBytes);
  float* slab_m = slab + C::kPartials * C::kSlabRows * C::kSlabStride;
  float* slab_l = slab_m + C::kPartials * C::kSlabRows;
#pragma unroll
  for (int mt = 0; mt < kMTW; ++mt)
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int lr = (wm * kMTW + mt) * 16 + (lane >> 2) + h * 8;
      float l = l_run[mt][h];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      float* orow = slab + (wn * C::kSlabRows + lr) * C::kSlabStride + 2 * (lane & 3);
#pragma unroll
      for (int d = 0; d < kDT; ++d) {
        orow[d * 8] = o[mt][d][2 * h];
        orow[d * 8 + 1] = o[mt][d][2 * h + 1];
      }
      if ((lane & 3) == 0) {
        slab_m[wn * C::kSlabRows + lr] = m_run[mt][h];
        slab_l[wn * C::kSlabRows + lr] = l;
      }
    }
  __syncthreads();
}

// ---------------------------------------------------------------------------------------------
// CUDA-core inner loop.
// ---------------------------------------------------------------------------------------------
template <class C>
__device__ __forceinline__ void run_simt(const GqaParams& p, const Cta& cta, unsigned char* smem) {
  typedef typename C::E E;
  constexpr int kR = C::kRowsCta, kSteps = C::kSteps, kLpk = C::kLanesPerKey;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int grp = lane / kLpk, sub = lane % kLpk;
  const bool active = sub < C::kChunks;  // head dim 96: 12 of 16 lanes hold data
  const u32 pipe_smem = smem_addr(smem);

  KvPipe<C> kv;
  kv.init(p, cta, tid);
  const int n_tiles = kv.n_tiles;

#pragma unroll
  for (int s = 0; s < C::kStages - 1; ++s) kv.issue(pipe_smem, cta, tid);

  // Q: this lane's 8 head-dim elements of every row, in fp32 registers.
  const int row_base = cta.rb * C::kRowsCta;
  float q[kR][8];
  int lim[kR];
#pragma unroll
  for (int m = 0; m < kR; ++m) {
    const int r = row_base + m;
#pragma unroll
    for (int e = 0; e < 8; ++e) q[m][e] = 0.0f;
    if (active && r < C::kRows) {
      const u32x4 v = ld_global_nc_16(static_cast<const E*>(p.q) + q_offset<C>(p, cta.b, cta.kvh, r) + sub * 8);
      unpack8<E>(v, q[m]);
    }
    const int t = r / C::kG;
    lim[m] = imin(C::kCausal ? t + cta.n - C::kQL : cta.n - 1, cta.key_end - 1);
  }
  const int mask_free_end = C::kCausal ? imin(cta.key_end, cta.n - C::kQL + 1) : cta.key_end;
  const float scale = p.scale_log2;

  float o[kR][8], m_run[kR], l_run[kR];
#pragma unroll
  for (int m = 0; m < kR; ++m) {
#pragma unroll
    for (int e = 0; e < 8; ++e) o[m][e] = 0.0f;
    m_run[m] = neg_inf();
    l_run[m] = 0.0f;
  }
  // Byte offset of this lane's chunk of its first key row in a stage.
  const u32 lane_off = ((warp * C::kKW + grp) * C::kSmemRow + sub * 8) * 2;

  int stage = 0;
  for (int it = 0; it < n_tiles; ++it) {
    cp_async_wait<C::kStages - 2>();
    __syncthreads();
    kv.issue(pipe_smem, cta, tid);

    const u32 st = pipe_smem + stage * C::kStageBytes + lane_off;
    stage = stage + 1 == C::kStages ? 0 : stage + 1;
    const int k0 = cta.key_begin + it * C::kBlockN;

    float s[kSteps][kR];
#pragma unroll
    for (int i = 0; i < kSteps; ++i) {
      float kf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      if (active) unpack8<E>(ld_shared_16(st + i * C::kKeysPerStep * C::kSmemRowBytes), kf);
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

    if (k0 + C::kBlockN > mask_free_end) {
      const int key0 = k0 + warp * C::kKW + grp;
#pragma unroll
      for (int i = 0; i < kSteps; ++i)
#pragma unroll
        for (int m = 0; m < kR; ++m)
          if (key0 + i * C::kKeysPerStep > lim[m]) s[i][m] = neg_inf();
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
        unpack8<E>(ld_shared_16(st + C::kTileBytes + i * C::kKeysPerStep * C::kSmemRowBytes), vf);
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
  float* slab_m = slab + C::kPartials * C::kSlabRows * C::kSlabStride;
  float* slab_l = slab_m + C::kPartials * C::kSlabRows;
  const int part = warp * C::kKeysPerStep + grp;
  if (active) {
#pragma unroll
    for (int m = 0; m < kR; ++m) {
      float* orow = slab + (part * C::kSlabRows + m) * C::kSlabStride + sub * 8;
#pragma unroll
      for (int e = 0; e < 8; ++e) orow[e] = o[m][e];
      if (sub == 0) {
        slab_m[part * C::kSlabRows + m] = m_run[m];
        slab_l[part * C::kSlabRows + m] = l_run[m];
      }
    }
  }
  __syncthreads();
}

// ---------------------------------------------------------------------------------------------
// Entry points.
// ---------------------------------------------------------------------------------------------
template <class T>
__device__ __forceinline__ void main_kernel(const GqaParams& p) {
  typedef Geom<T> C;
  extern __shared__ __align__(16) unsigned char smem[];
  if (threadIdx.x == 0 && dynamic_smem_size() < static_cast<u32>(C::kSmemBytes)) __trap();

  Cta cta;
  cta.split = blockIdx.x / C::kRowBlocks;
  cta.rb = blockIdx.x - cta.split * C::kRowBlocks;
  cta.kvh = blockIdx.y;
  cta.b = blockIdx.z;
  cta.n = imax(0, p.kv_lens != nullptr ? p.kv_lens[cta.b] : p.kv_len);
  cta.n_active = cta.n == 0 ? 0 : imin(p.num_splits, ceil_div(cta.n, p.split_len));
  if (cta.split >= cta.n_active) {
    // A sequence without keys: split 0 writes O = 0 and LSE = -inf; idle splits just leave.
    if (cta.n_active == 0 && cta.split == 0) write_rows<C>(p, cta, nullptr, true, true);
    return;
  }
  cta.key_begin = cta.split * p.split_len;
  cta.key_end = imin(cta.n, cta.key_begin + p.split_len);

  if constexpr (C::kMma) {
    run_mma<C>(p, cta, smem);
  } else {
    run_simt<C>(p, cta, smem);
  }
  const float* slab = reinterpret_cast<const float*>(smem + C::kQBytes);
  const bool final_out = cta.n_active == 1;
  write_rows<C>(p, cta, slab, final_out, false);
  if (final_out) return;

  if constexpr (C::kFused) {
    // Publish the partials, then count this CTA in; the last one of the (sequence, KV head)
    // merges every split and resets the counter for the next launch.
    volatile int* flag = reinterpret_cast<volatile int*>(smem + C::kSmemBytes - 16);
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) {
      unsigned* counter = reinterpret_cast<unsigned*>(
          p.lse_partial + static_cast<long long>(p.num_splits) * p.batch * C::kQL * p.n_q_heads) +
          cta.b * p.n_kv_heads + cta.kvh;
      const unsigned target = static_cast<unsigned>(cta.n_active * C::kRowBlocks);
      const unsigned old = atomicAdd(counter, 1u);
      const bool last = old + 1 == target;
      if (last) atomicExch(counter, 0u);
      *flag = last ? 1 : 0;
    }
    __syncthreads();
    if (*flag == 0) return;
    __threadfence();
    const int warp = threadIdx.x >> 5;
    for (int r = warp; r < C::kRows; r += C::kWarps) {
      const int t = r / C::kG;
      combine_row<C, 1>(p, cta.b, t, cta.kvh * C::kG + (r - t * C::kG), cta.n_active, 0, nullptr);
    }
  }
}

template <class T>
__device__ __forceinline__ void combine_kernel(const GqaParams& p) {
  typedef Geom<T> C;
  extern __shared__ __align__(16) unsigned char smem[];
  const int head = blockIdx.x, t = blockIdx.y, b = blockIdx.z;
  const int n = imax(0, p.kv_lens != nullptr ? p.kv_lens[b] : p.kv_len);
  const int n_active = n == 0 ? 0 : imin(p.num_splits, ceil_div(n, p.split_len));
  if (n_active <= 1) return;  // the main kernel wrote this row directly
  combine_row<C, C::kCombineWarps>(p, b, t, head, n_active, threadIdx.x >> 5, reinterpret_cast<float*>(smem));
}

}  // namespace decode
}  // namespace gqf

/// Instantiates the decode entry points for a traits struct (see docs/kernel-contract.md):
/// gqaforge_decode (grid: splits*row_blocks, n_kv, batch) and gqaforge_decode_combine
/// (grid: n_q_heads, q_len, batch; launched only for unfused split-KV).
#define GQF_DECODE_ENTRY_POINTS(Traits)                                                              \
  extern "C" __global__ void __launch_bounds__(gqf::decode::Geom<Traits>::kThreads, 1)             \
      gqaforge_decode(const GqaParams p) {                                                           \
    gqf::decode::main_kernel<Traits>(p);                                                             \
  }                                                                                                  \
  extern "C" __global__ void __launch_bounds__(gqf::decode::Geom<Traits>::kCombineWarps * 32)      \
      gqaforge_decode_combine(const GqaParams p) {                                                   \
    gqf::decode::combine_kernel<Traits>(p);                                                          \
  }
