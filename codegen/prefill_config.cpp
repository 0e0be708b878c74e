// PrefillConfig validation, canonical text, heuristic default, launch geometry and traits.
#include "codegen/prefill_config.h"

#include <algorithm>
#include <climits>
#include <cstdint>

#include "core/int_math.h"
#include "core/strings.h"

namespace gqaforge::codegen {
namespace {

/// Register headroom below the per-thread cap that the estimate must leave: the estimate is
/// within about +-15 of ptxas near the cap (checked on the sm_90a sweep of head dims x tiles).
constexpr int kRegisterHeadroom = 15;

/// Registers per thread the hardware can give at `min_ctas` CTAs of `threads` per SM
/// (allocation granularity 8, at most 255).
int register_cap(const DeviceLimits& limits, int threads, int min_ctas) {
  const int per_thread = limits.max_registers_per_sm / std::max(1, threads * min_ctas);
  return std::min(255, per_thread / 8 * 8);
}

}  // namespace

int prefill_shared_bytes(const AttentionProblem& pr, const PrefillConfig& c) {
  if (c.wgmma) return 1024 + 2 * pr.head_dim * (c.block_m + 2 * c.stages * c.block_n);
  const int row_bytes = (pr.head_dim + 8) * 2;
  return row_bytes * (c.block_m + 2 * c.stages * c.block_n);
}

int prefill_register_estimate(const AttentionProblem& pr, const PrefillConfig& c) {
  if (c.wgmma) {
    // One m64 tile per warpgroup: O (d / 2), S (block_n / 2) and its P copy (block_n / 4) per
    // thread, plus descriptors, loader state and softmax state; the staggered loop (8 warps,
    // >= 3 stages) keeps both warpgroups' paths and the previous V tile live (ptxas: +28..38).
    return pr.head_dim / 2 + c.block_n * 3 / 4 + 56 + (c.staggered() ? 24 : 0);
  }
  const int m_tiles = std::max(1, c.block_m / (16 * std::max(1, c.warps)));
  const int d = pr.head_dim;
  const int o_acc = m_tiles * d / 2;              // O: m_tiles * (d / 8) n8 tiles * 4 floats
  const int s_acc = m_tiles * c.block_n * 3 / 4;  // S (m_tiles * block_n / 2) + its P copy in flight
  const int q_frag = c.q_in_regs ? m_tiles * d / 4 : 0;
  const int fixed = 48 + 4 * m_tiles;  // fragments in flight, addresses, softmax state
  return o_acc + s_acc + q_frag + fixed;
}

Status PrefillConfig::validate(const AttentionProblem& pr, const DeviceLimits& limits) const {
  if (pr.phase != Phase::kPrefill) {
    return invalid_argument("prefill config used for a {} problem", phase_name(pr.phase));
  }
  if (pr.head_dim % 16 != 0 || pr.head_dim < 16 || pr.head_dim > 256) {
    return invalid_argument("head dim {} is not a multiple of 16 in 16..256", pr.head_dim);
  }
  GQF_RETURN_IF_ERROR(fields::check(fields(), *this));
  const int threads = 32 * warps;
  if (threads > limits.max_threads_per_block) {
    return resource_exhausted("warps={} gives {} threads, over the device limit {}", warps, threads,
                              limits.max_threads_per_block);
  }
  if (block_m <= 0 || block_m % (16 * warps) != 0 || block_m / (16 * warps) > 2) {
    return invalid_argument("block_m={} must be 16 * warps * k with k in {{1, 2}} (warps={}: {} or {})", block_m, warps,
                            16 * warps, 32 * warps);
  }
  if (wgmma) {
    if (!limits.has_wgmma) {
      return invalid_argument(
          "wgmma=1 needs a Hopper GPU with sm_90a code (compute capability 9.0); this target is {}.{}{}",
          limits.cc_major, limits.cc_minor, limits.cc_major == 9 ? " without the sm_90a features" : "");
    }
    if (pr.head_dim != 64 && pr.head_dim != 128 && pr.head_dim != 256) {
      return invalid_argument("wgmma=1 supports head dim 64, 128 or 256, not {}", pr.head_dim);
    }
    if (warps != 4 && warps != 8) return invalid_argument("wgmma=1 needs warps=4 or 8 (warpgroups), not {}", warps);
    if (block_m != 16 * warps) {
      return invalid_argument("wgmma=1 needs block_m = 16 * warps = {} (64 rows per warpgroup), not {}", 16 * warps,
                              block_m);
    }
    if (block_n % 64 != 0) return invalid_argument("wgmma=1 needs block_n 64, 128, 192 or 256, not {}", block_n);
    if (q_in_regs) return invalid_argument("wgmma=1 reads Q from shared memory: q_in_regs must be 0");
  }
  if (pack_gqa && pr.q_len * pr.group() > INT32_MAX) {
    return invalid_argument("pack_gqa=1 with q_len {} and G={} gives more than 2^31 rows per sequence", pr.q_len,
                            pr.group());
  }

  const int shared = prefill_shared_bytes(pr, *this);
  if (shared > limits.max_shared_per_block_optin) {
    return resource_exhausted(
        "shared memory {} bytes (block_m={}, block_n={}, stages={}, head dim {}) exceeds the device limit {}", shared,
        block_m, block_n, stages, pr.head_dim, limits.max_shared_per_block_optin);
  }
  // The driver reserves 1 KB of shared memory per resident CTA.
  if (min_ctas * (shared + 1024) > limits.max_shared_per_sm) {
    return resource_exhausted("min_ctas={} needs {} bytes of shared memory per SM ({} per CTA), over {}", min_ctas,
                              min_ctas * (shared + 1024), shared, limits.max_shared_per_sm);
  }
  const int cap = register_cap(limits, threads, min_ctas);
  const int estimate = prefill_register_estimate(pr, *this);
  if (estimate > cap - kRegisterHeadroom) {
    return resource_exhausted(
        "about {} registers per thread (head dim {}, block_m={} over warps={}, block_n={}, q_in_regs={}) exceed "
        "the budget {} at min_ctas={}: the kernel would spill",
        estimate, pr.head_dim, block_m, warps, block_n, q_in_regs ? 1 : 0, cap - kRegisterHeadroom, min_ctas);
  }
  return ok_status();
}

std::span<const ConfigField<PrefillConfig>> PrefillConfig::fields() {
  using F = ConfigField<PrefillConfig>;
  using L = LegalValues;
  static const F table[] = {
      // 16 * warps * k with k in {1, 2} (validate()).
      {"block_m",
       &PrefillConfig::block_m,
       L::any(),
       {32, 64, 128, 256},
       "kBlockM",
       "query rows per CTA (packed rows with kPackGqa)"},
      {"block_n", &PrefillConfig::block_n, L::multiple_of(16, 16, 256), {32, 64, 128}, "kBlockN", "keys per K/V tile"},
      {"warps", &PrefillConfig::warps, L::one_of({1, 2, 4, 8, 16}), {2, 4, 8}, "kWarps", "warps per CTA"},
      {"stages",
       &PrefillConfig::stages,
       L::one_of({2, 3, 4}),
       {2, 3, 4},
       "kStages",
       "K/V tiles resident in the cp.async ring"},
      {"pack_gqa",
       &PrefillConfig::pack_gqa,
       L::any(),
       {0, 1},
       "kPackGqa",
       "rows are (token, head-in-group) pairs of one KV head"},
      {"q_in_regs", &PrefillConfig::q_in_regs, L::any(), {0, 1}, "kQInRegs", "Q fragments stay in registers"},
      {"min_ctas",
       &PrefillConfig::min_ctas,
       L::one_of({1, 2}),
       {1, 2},
       "kMinCtasPerSm",
       "__launch_bounds__ occupancy target"},
      // The tuner drops 1 where the device has no warpgroup mma.
      {"wgmma",
       &PrefillConfig::wgmma,
       L::any(),
       {0, 1},
       "kWgmma",
       "Hopper generation: warpgroup mma from swizzled shared memory"},
  };
  return table;
}

std::string PrefillConfig::canonical() const {
  return fields::canonical(fields(), *this);
}

Result<PrefillConfig> PrefillConfig::parse(const std::string& text, const PrefillConfig& base) {
  return fields::parse<PrefillConfig>(kFamily, fields(), text, base);
}

namespace {

/// The Hopper generation's heuristic: two warpgroups (128 rows); one warpgroup when two would
/// leave SMs idle. Measured on H200 (bf16, TFLOP/s):
///   K/V tiles: d128 32:8 causal 16K 487 with block_n 128 against 438 with 64; d64 32:8 causal
///   8K b2 427 with block_n 64 against 341 with 128; d256 takes 64 (O alone holds 128
///   registers per thread; 128 would spill).
///   Stages: d128 takes 3, which staggers the two warpgroups (one's softmax overlaps the
///   other's products): 32:8 causal 16K 469 -> 572, 32:32 causal b2 8K 442 -> 489, 32:8
///   non-causal b2 8K 504 -> 522. d64 keeps 2: at 121 registers two CTAs share an SM and
///   overlap each other already, and the staggered loop's 196 registers allow one (424 -> 329);
///   but where there are too few CTAs for two per SM (<= 2 per SM at 128 rows) d64 takes the
///   staggered loop with block_n 128 (tuned, 8:1..8:8 causal 4K: 1.38-1.41x, 71 -> 51 us).
///   d256 keeps 2: three stages exceed shared memory.
PrefillConfig default_wgmma_config(const AttentionProblem& pr, const DeviceLimits& limits) {
  PrefillConfig c;
  c.wgmma = true;
  c.pack_gqa = pr.group() > 1;
  c.q_in_regs = false;
  c.min_ctas = 1;
  c.warps = 8;
  c.block_m = 128;
  c.block_n = pr.head_dim == 128 ? 128 : 64;
  c.stages = pr.head_dim == 128 ? 3 : 2;
  const int64_t rows = pr.q_len * (c.pack_gqa ? pr.group() : 1);
  const int64_t heads = c.pack_gqa ? pr.n_kv_heads : pr.n_q_heads;
  const int64_t ctas = ceil_div(rows, c.block_m) * heads * pr.batch;
  if (pr.head_dim == 64 && ctas <= 2 * limits.sm_count) {
    c.block_n = 128;
    c.stages = 3;
  }
  if (ctas < limits.sm_count) {
    c.warps = 4;
    c.block_m = 64;
    c.block_n = pr.head_dim == 128 ? 128 : 64;
    c.stages = 2;  // one warpgroup: nothing to stagger
  }
  return c;
}

}  // namespace

PrefillConfig default_prefill_config(const AttentionProblem& pr, const DeviceLimits& limits) {
  if (limits.has_wgmma && (pr.head_dim == 64 || pr.head_dim == 128 || pr.head_dim == 256)) {
    const PrefillConfig w = default_wgmma_config(pr, limits);
    if (w.validate(pr, limits).ok()) return w;
  }
  PrefillConfig c;
  c.pack_gqa = pr.group() > 1;
  c.stages = 2;
  c.min_ctas = 1;
  // Per head dim, the most rows per warp the registers allow: two m16 tiles per warp halve the
  // shared-memory bytes per mma (each K/V fragment feeds two mmas), and shared-memory bandwidth
  // is what limits mma.sync on Hopper. Measured on H200 (bf16, causal, TFLOP/s): d128 32:8 16K
  // 376 with 4 warps x 2 tiles, block_n 32 vs 323 with 8 warps x 1 tile, block_n 64, Q in
  // registers; d64 32:8 8K b4 345 (block_n 64) vs 267 (8 warps, block_n 128); d256 16:2 8K 304
  // with 8 warps x 1 tile, block_n 64 (O alone takes 128 registers) vs 271 with block_n 32.
  // A third stage cost 6 % (d128: 353) and not packing GQA 6 % (353).
  switch (pr.head_dim) {
    case 64:
      c.warps = 4;
      c.block_m = 128;
      c.block_n = 64;
      c.q_in_regs = false;
      break;
    case 96:
      c.warps = 4;
      c.block_m = 128;
      c.block_n = 32;
      c.q_in_regs = false;
      break;
    case 128:
      c.warps = 4;
      c.block_m = 128;
      c.block_n = 32;
      c.q_in_regs = false;
      break;
    default:  // 256 (and any other): O alone takes 128 registers.
      c.warps = 8;
      c.block_m = 128;
      c.block_n = 64;
      c.q_in_regs = false;
      break;
  }
  // Too few CTAs to fill the GPU: one m16 tile per warp and 4 warps (64 rows), with Q in
  // registers where they fit; more CTAs beat the shared-memory savings of two tiles per warp.
  const int64_t rows = pr.q_len * (c.pack_gqa ? pr.group() : 1);
  const int64_t heads = c.pack_gqa ? pr.n_kv_heads : pr.n_q_heads;
  const int64_t ctas = ceil_div(rows, c.block_m) * heads * pr.batch;
  // About one wave (two 4-warp CTAs per SM): the slowest CTA sets the time, so the same 128
  // rows over 8 warps (one tile each, Q in registers, wider K/V tiles) finish sooner. Tuned on
  // H200, causal b1 4K, 256 CTAs: 8:1 d128 116.5 us (block_n 64) against 166 us for the 4-warp
  // config; d64 at 8:1, 8:2, 8:4 and 8:8 71-72 us (block_n 128) against 88-93 us. At two
  // waves (16:1 d64 4K, 512 CTAs) the 4-warp config stays best (112 us against 141.5 us).
  if ((pr.head_dim == 64 || pr.head_dim == 128) && ctas >= limits.sm_count && ctas <= 2 * limits.sm_count) {
    c.warps = 8;
    c.block_n = pr.head_dim == 64 ? 128 : 64;
    c.q_in_regs = true;
    if (!c.validate(pr, limits).ok()) c.q_in_regs = false;
  }
  if (ctas < limits.sm_count) {
    c.warps = 4;
    c.block_m = 64;
    c.q_in_regs = true;
    if (!c.validate(pr, limits).ok()) c.q_in_regs = false;
  }
  if (!c.validate(pr, limits).ok()) {
    // Small devices (less shared memory): shrink the tiles until the config fits.
    for (int bn : {32, 16}) {
      c.block_n = std::min(c.block_n, bn);
      if (c.validate(pr, limits).ok()) break;
    }
  }
  return c;
}

Result<PrefillLaunch> prefill_launch(const AttentionProblem& pr, const PrefillConfig& c, const DeviceLimits& limits,
                                     bool varlen) {
  (void)varlen;  // sized by the longest sequence either way; CTAs past a sequence's end exit
  GQF_RETURN_IF_ERROR(c.validate(pr, limits));
  const int64_t rows = pr.q_len * (c.pack_gqa ? pr.group() : 1);
  const int64_t heads = c.pack_gqa ? pr.n_kv_heads : pr.n_q_heads;
  const int64_t ctas = ceil_div(rows, c.block_m) * heads * pr.batch;
  if (ctas > INT32_MAX) {
    return invalid_argument("prefill grid of {} CTAs (q_len {}, batch {}, block_m={}) exceeds 2^31 - 1", ctas, pr.q_len,
                            pr.batch, c.block_m);
  }
  PrefillLaunch l;
  l.grid[0] = static_cast<unsigned>(ctas);
  l.grid[1] = 1;
  l.grid[2] = 1;
  l.block[0] = static_cast<unsigned>(32 * c.warps);
  l.block[1] = 1;
  l.block[2] = 1;
  l.shared_bytes = prefill_shared_bytes(pr, c);
  return l;
}

}  // namespace gqaforge::codegen
