// Prefill family, wgmma generation: the compile-time shapes and shared-memory map of one
// kernel (128-byte-swizzled tiles), with the names OnlineSoftmax and Epilogue use.
#pragma once

#include "common.cuh"

namespace gqf {
namespace prefill {

/// Compile-time shapes of the wgmma kernel, with the names OnlineSoftmax and Epilogue use.
template <typename Traits>
struct WgmmaLayout {
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
  static constexpr int kWarpRows = 16;  // rows of one warp (a quarter of an m64 tile)
  static constexpr int kMTiles = 1;
  static constexpr int kNTiles = kBlockN / 8;
  static constexpr int kDTiles = kHeadDim / 8;
  static constexpr int kKSteps = kHeadDim / 16;              // k16 steps of QK^T
  static constexpr int kPSteps = kBlockN / 16;               // k16 steps of PV
  static constexpr int kChunks = kHeadDim / 8;               // 16-byte chunks per row
  static constexpr int kRowBytes = (kHeadDim + 8) * 2;       // epilogue staging rows (padded)
  static constexpr int kQBytes = kBlockM * kHeadDim * 2;     // swizzled, kHeadDim / 64 panels
  static constexpr int kTileBytes = kBlockN * kHeadDim * 2;  // one K or one V tile, swizzled
  static constexpr int kStageBytes = 2 * kTileBytes;
  static constexpr int kAlign = 1024;  // swizzle atoms are 1024-byte aligned
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
  static_assert(kSharedBytes == Traits::kSharedBytes, "shared-memory layout disagrees with the host's prefill_launch");
};

}  // namespace prefill
}  // namespace gqf
