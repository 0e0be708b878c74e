// DecodeConfig: the tunable parameters of the decode kernel family (codegen/kernels/decode.cuh),
// their validation against a problem and a device, the untuned heuristic, and the launch
// geometry (grids, shared memory, split-KV workspace) the runtime needs.
//
// Legal values (the field table in decode_config.cpp holds each field's own legal values and
// the autotuner's values; validate() adds the rules between fields):
//   block_n       16, 32, 64, 128, 256. mma path: block_n / (warps / warps_m) must be a
//                 multiple of 16; CUDA-core path: block_n / warps must be a multiple of
//                 32 / lanes_per_key (lanes_per_key = 8 for head dim 64, 32 for 256, else 16).
//   warps         1, 2, 4, 8, 16 (threads = 32 * warps <= the device limit).
//   warps_m       mma path: a divisor of warps, at most ceil(rows / 16) where rows =
//                 ceil(G * q_len / row_blocks); CUDA-core path: 1.
//   stages        2..8 (shared memory = stages * 2 * block_n * (head_dim + 8) * 2 bytes + Q
//                 for cp.async).
//   use_mma       0 or 1. CUDA cores need rows <= 8.
//   row_blocks    1..G*q_len; 1 unless the rows do not fit in registers (mma accumulators are
//                 limited to kMaxAccRegs per thread), since each extra row block re-reads K/V.
//   num_splits    0 (chosen at launch from batch, n_kv, kv_len, sm_count) or 1..65535.
//   fused_combine 0 or 1; only matters when the launch ends up with more than one split.
//   tma           0 or 1: K/V tiles by TMA tensor-map copies (sm_90+, head dim 64/128/256;
//                 ring rows unpadded: stages * 2 * block_n * head_dim * 2 bytes + 1 KB).
//
// Split-KV workspace (when DecodeLaunch::num_splits > 1), one allocation, in this order:
//   o_partial   fp32 [num_splits][batch][q_len][n_q_heads][head_dim]  normalised (O_s / l_s)
//   lse_partial fp32 [num_splits][batch][q_len][n_q_heads]            natural log, -inf if empty
//   counters    u32  [batch][n_kv_heads]  fused combine only; the kernel finds them right after
//               lse_partial. Zero them once after allocating the workspace (or whenever its
//               layout changes); every launch leaves them zero again, so CUDA-graph replay of
//               the same shape needs no memset.
// GqaParams::o_partial = workspace + o_partial_offset, lse_partial = workspace + lse_partial_offset.
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "codegen/config_fields.h"
#include "codegen/device_limits.h"
#include "codegen/problem.h"
#include "codegen/source.h"
#include "core/status.h"

namespace gqaforge::codegen {

/// Largest accumulator registers (O + S + Q fragments) per thread a config may ask for. ptxas
/// adds ~80-95 for addresses and softmax state; at 160 an 8-warp CTA spilled.
inline constexpr int kDecodeMaxAccRegs = 152;

struct DecodeConfig {
  int block_n = 64;            // keys per K/V tile (one cp.async pipeline stage), keys
  int warps = 4;               // warps per CTA of the main kernel
  int warps_m = 1;             // mma path: warp groups along the query rows (the other
                               // warps / warps_m split each tile's keys); 1 on CUDA cores
  int stages = 3;              // cp.async pipeline depth, K/V tiles resident in shared memory
  bool use_mma = true;         // inner loop: tensor cores (mma.sync m16n8k16, fp32 accumulate)
                               // or CUDA cores (fp32 FMA, for G*q_len <= 8)
  int row_blocks = 1;          // CTAs sharing the G*q_len query rows of a KV head (1 = K/V read
                               // once per step; more only when the rows do not fit)
  int num_splits = 0;          // split-KV chunks per (sequence, KV head); 0 = chosen at launch
  bool fused_combine = false;  // split-KV merge: by the last CTA of each (sequence, KV head)
                               // (true) or by the gqaforge_decode_combine kernel (false)
  bool tma = false;            // K/V tiles copied by TMA (tensor maps, one thread posting each
                               // tile on an mbarrier) instead of every thread's cp.async

  /// The family's name: the key in the database, the worker pipe and --family, the name of
  /// its kernel template (codegen/kernels/decode.cuh).
  static constexpr const char* kFamily = "decode";

  /// The fields, once: canonical text, parsing, single-field legal values, traits and the
  /// autotuner's axes all come from this table.
  static std::span<const ConfigField<DecodeConfig>> fields();

  /// can_implement: every field legal for this problem and device; messages name the value.
  Status validate(const AttentionProblem& problem, const DeviceLimits& limits) const;

  /// "block_n=64,warps=4,warps_m=1,stages=3,use_mma=1,row_blocks=1,num_splits=0,fused_combine=0,tma=0"
  std::string canonical() const;

  /// Overrides the fields of `base` named in "key=value,..." (any subset, any order).
  static Result<DecodeConfig> parse(const std::string& text, const DecodeConfig& base);

  bool operator==(const DecodeConfig&) const = default;
};

/// Heuristic config for an untuned call: CUDA cores for G*q_len <= 2; tensor cores with one m16
/// tile per warp when the rows fill two or more tiles (speculative steps), else the fewest warp
/// groups / row blocks whose accumulators fit; ~32 KB K+V stages, up to 4 deep;
/// num_splits from batch, n_kv, kv_len and sm_count (fill the SMs in whole waves); the combine
/// as its own (programmatic) kernel; TMA K/V copies on sm_90+ for head dims 64/128/256.
DecodeConfig default_decode_config(const AttentionProblem& problem, const DeviceLimits& limits);

/// Everything the runtime needs to allocate the workspace and launch.
struct DecodeLaunch {
  unsigned grid[3];           // gqaforge_decode grid: (num_splits * row_blocks, n_kv_heads, batch)
  unsigned block[3];          // gqaforge_decode block: (32 * warps, 1, 1)
  int shared_bytes;           // gqaforge_decode dynamic shared memory, bytes
  unsigned combine_grid[3];   // gqaforge_decode_combine grid: (n_q_heads, q_len, batch)
  unsigned combine_block[3];  // gqaforge_decode_combine block: (256, 1, 1)
  int combine_shared_bytes;   // gqaforge_decode_combine dynamic shared memory, bytes
  int num_splits;             // GqaParams::num_splits (every split holds keys of the longest
                              // sequence; shorter sequences leave trailing splits idle)
  int split_len;              // GqaParams::split_len, keys per split, a multiple of block_n
  size_t workspace_bytes;     // split-KV workspace, 0 when num_splits == 1
  size_t o_partial_offset;    // byte offset of GqaParams::o_partial in the workspace
  size_t lse_partial_offset;  // byte offset of GqaParams::lse_partial in the workspace
  size_t counters_offset;     // byte offset of the fused-combine counters
  size_t counters_bytes;      // bytes of counters to zero once per workspace layout (0 if none)
  bool needs_combine_kernel;  // launch gqaforge_decode_combine after gqaforge_decode
};

/// Launch geometry for `config` (num_splits 0 resolved here) on `problem` (kv_len = the
/// longest sequence); fails with validate()'s status.
Result<DecodeLaunch> decode_launch(const AttentionProblem& problem, const DecodeConfig& config,
                                   const DeviceLimits& limits);

/// Dynamic shared memory of the main kernel (the same formula as decode_layout.cuh's Layout).
int decode_shared_bytes(const AttentionProblem& problem, const DecodeConfig& config);

/// Whether `tma=1` can run the problem on the device: TMA tensor copies need sm_90+, and the
/// 64-column swizzled boxes a head dim that is a multiple of 64. validate(), the heuristic and
/// the tuner's axis all ask this.
bool decode_tma_supported(const AttentionProblem& problem, const DeviceLimits& limits);

}  // namespace gqaforge::codegen
