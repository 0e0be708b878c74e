// PrefillConfig: the tunable parameters of the prefill kernel family
// (codegen/kernels/prefill.cuh: a FlashAttention-2-class forward pass on mma.sync, and its
// Hopper generation on warpgroup mma), their validation against a problem and a device, the
// untuned heuristic, and the launch geometry.
//
// Legal values (the field table in prefill_config.cpp holds each field's own legal values and
// the autotuner's values; validate() adds the rules between fields):
//   block_m         16 * warps * k with k in {1, 2} (k = m16 row tiles per warp): with 4 warps
//                   64 or 128, with 8 warps 128 or 256. Rows are packed (token, head) pairs when
//                   pack_gqa is set.
//   block_n         16..256, a multiple of 16; useful: 32, 64, 128.
//   warps           1, 2, 4, 8 or 16 (threads = 32 * warps <= the device limit); useful: 4, 8.
//   stages          2, 3 or 4 K/V tiles resident in the cp.async ring. With wgmma and 8 warps,
//                   3 or 4 also stagger the two warpgroups by half a tile, so that one's
//                   softmax overlaps the other's products (prefetch then runs stages - 2 ahead).
//   pack_gqa        0 or 1 (1 is the same kernel as 0 when G = 1). Needs q_len * G < 2^31.
//   q_in_regs       0 or 1.
//   min_ctas        1 or 2: the __launch_bounds__ occupancy target; 2 caps registers at
//                   65536 / (2 * threads) and needs 2 CTAs' shared memory per SM.
//   wgmma           0 or 1: 1 is the Hopper generation (sm_90a only): both products on
//                   warpgroup mma with Q/K/V read from 128-byte-swizzled shared memory. It needs
//                   head_dim 64, 128 or 256, warps 4 or 8 with block_m = 16 * warps (64 rows per
//                   warpgroup), block_n a multiple of 64 up to 256, and q_in_regs = 0.
// Besides, validate() rejects configs whose shared memory exceeds the device and whose
// estimated registers (prefill_register_estimate) exceed the budget, i.e. would spill.
// Registers dominate: O accumulators (k * head_dim / 2 per thread) plus S (k * block_n / 2),
// plus Q fragments (k * head_dim / 4) with q_in_regs. So head_dim 256 needs k = 1 and
// q_in_regs = 0 with block_n <= 64, and head_dim 128 with k = 2 needs block_n = 32.
//
// Shared memory (bytes) = 2 * (head_dim + 8) * (block_m + 2 * stages * block_n): Q rows plus the
// K/V ring, every row padded by 16 bytes against bank conflicts. With wgmma the rows are
// swizzled instead of padded, plus 1024 bytes to align the swizzle atoms:
// 1024 + 2 * head_dim * (block_m + 2 * stages * block_n).
//
// Launch: a 1-D grid of m_blocks * heads * batch CTAs, m_blocks = ceil(rows / block_m) with
// rows = q_len (* G when packing), heads = n_kv_heads when packing else n_q_heads. The kernel
// decodes the CTA index itself (heads fastest, row blocks reversed: heaviest causal blocks first).
// For varlen the runtime must set GqaParams::q_len and kv_len to the longest sequence, the same
// q_len this grid was sized with; CTAs past a sequence's end exit at once.
#pragma once

#include <span>
#include <string>

#include "codegen/config_fields.h"
#include "codegen/device_limits.h"
#include "codegen/problem.h"
#include "codegen/source.h"
#include "core/status.h"

namespace gqaforge::codegen {

struct PrefillConfig {
  // Field defaults: the mma.sync generation's measured best for head_dim 128 on H200 (376
  // TFLOP/s at 32:8, 16K causal); default_prefill_config() picks per problem and device.
  int block_m = 128;       // query rows per CTA (packed (token, head) rows with pack_gqa), rows
  int block_n = 32;        // keys per K/V tile (one cp.async ring slot), keys
  int warps = 4;           // warps per CTA; each owns block_m / warps consecutive rows
  int stages = 2;          // K/V tiles resident in shared memory (prefetch depth + 1), tiles
  bool pack_gqa = true;    // fold the G query heads of a KV head into the rows, so each K/V
                           // tile in shared memory serves all G heads
  bool q_in_regs = false;  // keep Q's mma fragments in registers for the whole key loop (else
                           // re-read them from shared memory for every tile)
  int min_ctas = 1;        // CTAs per SM the register allocation must allow (__launch_bounds__)
  bool wgmma = false;      // Hopper generation: warpgroup mma instead of mma.sync (sm_90a)

  /// The wgmma kernel's staggered loop (two warpgroups, >= 3 stages; WgmmaLayout::kStaggered in
  /// prefill_wgmma_layout.cuh).
  bool staggered() const { return wgmma && warps == 8 && stages >= 3; }

  /// The family's name: the key in the database, the worker pipe and --family, the name of
  /// its kernel template (codegen/kernels/prefill.cuh).
  static constexpr const char* kFamily = "prefill";

  /// The fields, once: canonical text, parsing, single-field legal values, traits and the
  /// autotuner's axes all come from this table.
  static std::span<const ConfigField<PrefillConfig>> fields();

  /// can_implement: every field legal for this problem and device; messages name the value.
  Status validate(const AttentionProblem& problem, const DeviceLimits& limits) const;

  /// "block_m=128,block_n=32,warps=4,stages=2,pack_gqa=1,q_in_regs=0,min_ctas=1,wgmma=0"
  std::string canonical() const;

  /// Overrides the fields of `base` named in "key=value,..." (any subset, any order).
  static Result<PrefillConfig> parse(const std::string& text, const PrefillConfig& base);

  bool operator==(const PrefillConfig&) const = default;
};

/// Heuristic config for an untuned call, per head dim (register budget), G (packing) and the
/// number of CTAs the lengths give (smaller row blocks when the grid would not fill the GPU);
/// the wgmma generation where the device has it and the head dim allows it.
PrefillConfig default_prefill_config(const AttentionProblem& problem, const DeviceLimits& limits);

/// Launch geometry of gqaforge_prefill.
struct PrefillLaunch {
  unsigned grid[3];   // (m_blocks * heads * batch, 1, 1); see the header comment
  unsigned block[3];  // (32 * warps, 1, 1)
  int shared_bytes;   // dynamic shared memory, bytes
};

/// Launch geometry for `config` on `problem` (q_len = the longest sequence when `varlen`);
/// fails with validate()'s status, or when the grid would be too large.
Result<PrefillLaunch> prefill_launch(const AttentionProblem& problem, const PrefillConfig& config,
                                     const DeviceLimits& limits, bool varlen);

/// Dynamic shared memory of the kernel (the formula of MmaLayout and WgmmaLayout in prefill_*_layout.cuh).
int prefill_shared_bytes(const AttentionProblem& problem, const PrefillConfig& config);

/// Estimated registers per thread (accumulators, fragments and ~50 of addresses and softmax
/// state), calibrated against ptxas for sm_90a; validate() compares it with the budget.
int prefill_register_estimate(const AttentionProblem& problem, const PrefillConfig& config);

}  // namespace gqaforge::codegen
