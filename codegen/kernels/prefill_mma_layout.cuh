// Prefill family, mma.sync generation: the compile-time shapes and shared-memory map of one
// kernel, derived from the traits (must match the host's prefill_launch).
//
// Shared memory rows are padded by 16 bytes: a row of D elements spans D/8+1 16-byte units, an
// odd number, so the 8 row addresses of one ldmatrix phase hit 8 distinct bank groups (this also
// covers head_dim 96, whose 12 units per row rule out the usual XOR-8 swizzle), and the padding
// keeps every fragment address linear in the tile indices (immediate offsets in LDSM).
#pragma once

#include "common.cuh"

namespace gqf {
namespace prefill {

/// Compile-time shapes of one generated prefill kernel.
template <typename Traits>
struct MmaLayout {
  typedef typename Traits::Element Element;
  static constexpr int kHeadDim = Traits::kHeadDim;
  static constexpr int kGroup = Traits::kGroup;
  static constexpr bool kCausal = Traits::kCausal;
  static constexpr int kBlockM = Traits::kBlockM;  // rows per CTA (packed rows with kPackGqa)
  static constexpr int kBlockN = Traits::kBlockN;  // keys per tile
  static constexpr int kWarps = Traits::kWarps;
  static constexpr int kStages = Traits::kStages;  // K/V tiles resident in the ring
  static constexpr bool kPackGqa = Traits::kPackGqa;
  static constexpr bool kQInRegs = Traits::kQInRegs;

  static constexpr int kThreads = kWarps * 32;
  static constexpr int kWarpRows = kBlockM / kWarps;
  static constexpr int kMTiles = kWarpRows / 16;        // m16 tiles per warp
  static constexpr int kNTiles = kBlockN / 8;           // n8 tiles of S per warp
  static constexpr int kDTiles = kHeadDim / 8;          // n8 tiles of O per warp
  static constexpr int kKSteps = kHeadDim / 16;         // k16 steps of QK^T
  static constexpr int kPSteps = kBlockN / 16;          // k16 steps of PV
  static constexpr int kChunks = kHeadDim / 8;          // 16-byte chunks per row
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
  static_assert(kSharedBytes == Traits::kSharedBytes, "shared-memory layout disagrees with the host's prefill_launch");
};

}  // namespace prefill
}  // namespace gqf
