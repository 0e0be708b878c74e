// Decode family: the compile-time layout of one kernel (shapes, warp split, shared-memory map,
// combine geometry), derived from the traits. codegen/decode_config.cpp mirrors these formulas
// (shared memory size, rows); the kernel traps if launched with less shared memory.
#pragma once

#include "common.cuh"

namespace gqf {
namespace decode {

template <typename Traits>
struct Layout {
  typedef typename Traits::Element Element;
  static constexpr int kHeadDim = Traits::kHeadDim;
  static constexpr int kGroup = Traits::kGroup;
  static constexpr int kQLen = Traits::kQLen;
  static constexpr bool kCausal = Traits::kCausal;
  static constexpr bool kUseMma = Traits::kUseMma;
  static constexpr bool kFusedCombine = Traits::kFusedCombine;
  static constexpr int kBlockN = Traits::kBlockN;
  static constexpr int kWarps = Traits::kWarps;
  static constexpr int kWarpsM = Traits::kWarpsM;
  static constexpr int kStages = Traits::kStages;
  static constexpr int kRowBlocks = Traits::kRowBlocks;
  static constexpr bool kTma = Traits::kTma;

  static constexpr int kThreads = kWarps * 32;
  static constexpr int kRows = kGroup * kQLen;                            // rows of a KV head
  static constexpr int kRowsCta = (kRows + kRowBlocks - 1) / kRowBlocks;  // rows of this CTA
  static constexpr int kChunks = kHeadDim / 8;                            // 16-byte chunks per row
  static constexpr int kRowElems = kHeadDim + 8;                          // padded smem row, elements
  static constexpr int kRowBytes = kRowElems * 2;

  // Tensor-core path.
  static constexpr int kCtaMTiles = (kRowsCta + 15) / 16;               // m16 tiles of the CTA
  static constexpr int kMTiles = (kCtaMTiles + kWarpsM - 1) / kWarpsM;  // m16 tiles per warp
  static constexpr int kWarpsN = kWarps / kWarpsM;
  static constexpr int kQRows = kUseMma ? kWarpsM * kMTiles * 16 : 0;  // Q rows staged in smem
  static constexpr bool kQInRegs = kMTiles * kHeadDim / 4 <= 32;       // A fragments held in registers

  // CUDA-core path.
  static constexpr int kLanesPerKey = kHeadDim == 64 ? 8 : (kHeadDim == 256 ? 32 : 16);
  static constexpr int kKeysPerStep = 32 / kLanesPerKey;  // lane groups (keys) per warp

  // Keys of each tile handled by one warp, and the softmax states merged at the end.
  static constexpr int kKW = kUseMma ? kBlockN / kWarpsN : kBlockN / kWarps;
  static constexpr int kSteps = kKW / kKeysPerStep;  // CUDA-core: keys per lane group per tile
  static constexpr int kPartials = kUseMma ? kWarpsN : kWarps * kKeysPerStep;
  static constexpr int kSlabRows = kUseMma ? kQRows : kRowsCta;
  static constexpr int kSlabStride = kHeadDim + 4;  // floats; +4 breaks the 8-row bank pattern

  // K/V ring rows: padded by 16 bytes for cp.async; for TMA unpadded and 128-byte swizzled in
  // boxes of 64 columns: box b of a tile holds columns 64b..64b+63 of its kBlockN rows, 128
  // bytes per row, and the 16-byte chunk c of row r sits at chunk c ^ (r % 8) of that row.
  static constexpr int kRingRowBytes = kTma ? kHeadDim * 2 : kRowBytes;
  static constexpr int kBoxCols = 64;
  static constexpr int kBoxes = kHeadDim / kBoxCols;
  static constexpr int kBoxBytes = kBlockN * 128;

  // Shared memory (bytes): [Q][pad to 1024 (TMA)][pipeline ring | merge slabs][barriers][flag].
  static constexpr int kQBytes = kQRows * kRowBytes;
  static constexpr int kTileBytes = kBlockN * kRingRowBytes;  // K or V of one stage
  static constexpr int kStageBytes = 2 * kTileBytes;
  static constexpr int kPipeBytes = kStages * kStageBytes;
  static constexpr int kSlabOBytes = kPartials * kSlabRows * kSlabStride * 4;
  static constexpr int kSlabBytes = kSlabOBytes + 2 * kPartials * kSlabRows * 4;
  static constexpr int kBodyBytes = kPipeBytes > kSlabBytes ? kPipeBytes : kSlabBytes;
  static constexpr int kAlignPad = kTma ? 1024 : 0;  // the swizzle needs 1024-byte aligned boxes
  static constexpr int kBarBytes = kTma ? (8 * kStages + 15) / 16 * 16 : 0;
  static constexpr int kBarOffset = kQBytes + kAlignPad + kBodyBytes;
  static constexpr int kSharedBytes = kBarOffset + kBarBytes + 16;

  /// kv_offset(row + row_add, chunk + chunk_add) for the ldmatrix lane pattern: chunk 0 or 1,
  /// row_add a multiple of 8, chunk_add even (so the swizzle's XOR splits into a per-lane part
  /// and a compile-time part).
  static __device__ __forceinline__ u32 kv_lane_offset(int row, int chunk, int row_add, int chunk_add) {
    if constexpr (kTma) {
      return static_cast<u32>((chunk_add >> 3) * kBoxBytes + (row + row_add) * 128 +
                              (((chunk_add & 7) ^ chunk ^ (row & 7)) << 4));
    } else {
      return static_cast<u32>((row + row_add) * kRowBytes + (chunk + chunk_add) * 16);
    }
  }

  /// Byte offset of 16-byte chunk `chunk` of key row `row` inside a K or V tile of the ring.
  static __device__ __forceinline__ u32 kv_offset(int row, int chunk) {
    if constexpr (kTma) {
      return static_cast<u32>((chunk >> 3) * kBoxBytes + row * 128 + (((chunk & 7) ^ (row & 7)) << 4));
    } else {
      return static_cast<u32>(row * kRowBytes + chunk * 16);
    }
  }

  // Combine kernel: one CTA per output row, kCombineWarps warps share the splits.
  static constexpr int kCombineWarps = 8;
  static constexpr int kCombineLanes = kHeadDim == 64 ? 16 : 32;                          // lanes covering one row
  static constexpr int kCombineVec = (kHeadDim / 4 + kCombineLanes - 1) / kCombineLanes;  // float4/lane
  static constexpr int kCombineSplitsPerWarp = 32 / kCombineLanes;

  static_assert(kHeadDim == 64 || kHeadDim == 96 || kHeadDim == 128 || kHeadDim == 256, "head dim");
  static_assert(kQLen >= 1 && kQLen <= 16, "q_len");
  static_assert(kStages >= 2, "stages");
  static_assert(kWarps % kWarpsM == 0, "warps_m must divide warps");
  static_assert(!kUseMma || kKW % 16 == 0, "mma: keys per warp must be a multiple of 16");
  static_assert(kUseMma || kKW % kKeysPerStep == 0, "cuda cores: keys per warp");
  static_assert(kUseMma || kWarpsM == 1, "cuda cores: warps_m must be 1");
  static_assert(kUseMma || kRowsCta <= 8, "cuda cores: at most 8 rows per CTA");
  static_assert(!kTma || kHeadDim % kBoxCols == 0, "tma: head dim must be a multiple of 64");
  static_assert(kBarOffset % 8 == 0, "mbarriers need 8-byte alignment");
};

}  // namespace decode
}  // namespace gqf
