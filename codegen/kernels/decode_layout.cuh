// Decode family: the compile-time layout of one kernel (shapes, warp split, shared-memory map),
// derived from the traits. codegen/decode_config.cpp mirrors its shared-memory formula.
#pragma once

#include "common.cuh"

namespace gqf {
namespace decode {

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

}  // namespace decode
}  // namespace gqf
