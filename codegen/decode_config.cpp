// DecodeConfig validation, text form, heuristic and launch geometry. The geometry formulas
// mirror decode_layout.cuh's Layout<Traits>; the kernel traps if launched with less shared memory than
// it computes, so a drift between the two fails loudly.
#include "codegen/decode_config.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/int_math.h"
#include "core/strings.h"

namespace gqaforge::codegen {
namespace {

constexpr int kCombineThreads = 256;  // decode_combine.cuh: kCombineWarps * 32

/// Derived geometry of one (problem, config), as decode_layout.cuh computes it.
struct Geometry {
  int rows = 0;           // G * q_len
  int rows_cta = 0;       // rows of one CTA
  int m_tiles = 0;        // mma: m16 tiles of a CTA
  int mtw = 0;            // mma: m16 tiles per warp
  int warps_n = 0;        // mma: warps splitting the keys of a tile
  int kw = 0;             // keys of a tile per warp
  int lanes_per_key = 0;  // CUDA cores
  int acc_regs = 0;       // fp32 accumulator registers per thread (O + S)
  int shared_bytes = 0;
};

Geometry geometry(const AttentionProblem& pr, const DecodeConfig& c) {
  Geometry g;
  const int d = pr.head_dim;
  g.rows = pr.group() * static_cast<int>(pr.q_len);
  g.rows_cta = ceil_div(g.rows, std::max(1, c.row_blocks));
  const int smem_row_bytes = (d + 8) * 2;  // Q rows, and K/V rows of the cp.async ring
  const int ring_row_bytes = c.tma ? d * 2 : smem_row_bytes;
  const int warps_m = std::max(1, c.warps_m);
  g.lanes_per_key = d == 64 ? 8 : (d == 256 ? 32 : 16);
  int q_rows = 0, partials = 0, slab_rows = 0;
  if (c.use_mma) {
    g.m_tiles = ceil_div(g.rows_cta, 16);
    g.mtw = ceil_div(g.m_tiles, warps_m);
    g.warps_n = std::max(1, c.warps / warps_m);
    g.kw = c.block_n / g.warps_n;
    q_rows = warps_m * g.mtw * 16;
    partials = g.warps_n;
    slab_rows = q_rows;
    const bool q_in_regs = g.mtw * d / 4 <= 32;
    g.acc_regs = g.mtw * (d / 2 + g.kw / 2) + (q_in_regs ? g.mtw * d / 4 : 0);
  } else {
    g.kw = c.block_n / std::max(1, c.warps);
    partials = c.warps * (32 / g.lanes_per_key);
    slab_rows = g.rows_cta;
    const int steps = g.kw / (32 / g.lanes_per_key);
    g.acc_regs = g.rows_cta * (8 + 8 + steps);  // q, o, scores
  }
  const int q_bytes = q_rows * smem_row_bytes;
  const int64_t pipe = int64_t{c.stages} * 2 * c.block_n * ring_row_bytes;
  const int64_t slab = int64_t{partials} * slab_rows * (d + 4) * 4 + 2LL * partials * slab_rows * 4;
  // TMA: the ring aligned to 1 KB (the swizzle's period), then one 8-byte mbarrier per stage.
  const int64_t tma_extra = c.tma ? 1024 + (8LL * c.stages + 15) / 16 * 16 : 0;
  const int64_t total = q_bytes + std::max(pipe, slab) + tma_extra + 16;
  g.shared_bytes = static_cast<int>(std::min<int64_t>(total, INT32_MAX));
  return g;
}

/// Resident CTAs per SM for a launch, from shared memory, threads and a conservative register
/// estimate (the kernel is compiled with __launch_bounds__(threads, 1)).
int ctas_per_sm(const DecodeConfig& c, const Geometry& g, const DeviceLimits& limits) {
  const int threads = 32 * c.warps;
  const int shared_bytes = g.shared_bytes;
  // ptxas measured ~80-95 registers above the accumulator estimate (sm_90a, NVRTC 13.0).
  const int est_regs = std::min(255, (g.acc_regs + 96 + 7) / 8 * 8);
  int by_smem = limits.max_shared_per_sm / (shared_bytes + 1024);  // 1 KB reserved per CTA
  int by_threads = limits.max_threads_per_sm / threads;
  int by_regs = limits.max_registers_per_sm / (threads * est_regs);
  return std::max(1, std::min({by_smem, by_threads, by_regs, 32}));
}

/// Split length for `splits` requested splits: a multiple of the tile.
int split_len_for(int64_t kv_len, int splits, int block_n) {
  const int64_t per = ceil_div(kv_len, splits);
  return static_cast<int>(ceil_div(per, block_n) * block_n);
}

/// Split count that fills the machine: maximises wave efficiency (CTAs / (waves * slots)),
/// discounted by the partial-output traffic relative to the K/V bytes of a split.
int choose_num_splits(const AttentionProblem& pr, const DecodeConfig& c, const DeviceLimits& limits) {
  const int64_t slots = int64_t{limits.sm_count} * ctas_per_sm(c, geometry(pr, c), limits);
  const int64_t base = pr.batch * pr.n_kv_heads * c.row_blocks;
  const int64_t tiles = ceil_div(pr.kv_len, c.block_n);
  // At least two tiles per split, so that the pipeline has something to overlap.
  const int max_splits = static_cast<int>(std::clamp<int64_t>(tiles / 2, 1, 1024));
  const double rows = static_cast<double>(pr.group() * pr.q_len);
  int best = 1;
  double best_score = -1.0;
  int last_effective = 0;
  for (int s = 1; s <= max_splits; ++s) {
    const int len = split_len_for(pr.kv_len, s, c.block_n);
    const int eff_splits = static_cast<int>(ceil_div(pr.kv_len, len));
    if (eff_splits == last_effective) continue;
    last_effective = eff_splits;
    const int64_t total = base * eff_splits;
    const int64_t waves = ceil_div(total, slots);
    const double efficiency = static_cast<double>(total) / static_cast<double>(waves * slots);
    // Partial O + LSE written and read back (~8 bytes per row element) against K+V (4 bytes
    // per key and element).
    const double overhead = eff_splits > 1 ? 2.0 * eff_splits * rows / static_cast<double>(pr.kv_len) : 0.0;
    const double score = efficiency / (1.0 + overhead);
    // More splits must pay for themselves: each adds combine latency the score does not see
    // (H200: 128 -> 256 -> 512 splits of 8:1/d128/128K took 25.9 -> 30.5 -> 39.5 us).
    if (score > best_score * 1.10) {
      best_score = score;
      best = eff_splits;
    }
  }
  return best;
}

}  // namespace

int decode_shared_bytes(const AttentionProblem& problem, const DecodeConfig& config) {
  return geometry(problem, config).shared_bytes;
}

bool decode_tma_supported(const AttentionProblem& problem, const DeviceLimits& limits) {
  return limits.cc_major >= 9 && problem.head_dim % 64 == 0;
}

Status DecodeConfig::validate(const AttentionProblem& pr, const DeviceLimits& limits) const {
  GQF_RETURN_IF_ERROR(pr.validate());
  if (pr.phase != Phase::kDecode) return invalid_argument("decode config used for a {} problem", phase_name(pr.phase));
  if (limits.cc_major < 8) {
    return invalid_argument("decode kernels need cp.async and bf16 mma (sm_80+), device is sm_{}{}", limits.cc_major,
                            limits.cc_minor);
  }
  GQF_RETURN_IF_ERROR(fields::check(fields(), *this));
  if (32 * warps > limits.max_threads_per_block) {
    return resource_exhausted("warps={} gives {} threads, above the device limit {}", warps, 32 * warps,
                              limits.max_threads_per_block);
  }
  const int rows = pr.group() * static_cast<int>(pr.q_len);
  if (row_blocks < 1 || row_blocks > rows) {
    return invalid_argument("row_blocks={} must be in 1..{} (G*q_len)", row_blocks, rows);
  }
  if (pr.n_kv_heads > 65535) return invalid_argument("n_kv_heads={} exceeds the grid limit 65535", pr.n_kv_heads);
  if (pr.batch > 65535) return invalid_argument("batch={} exceeds the grid limit 65535", pr.batch);
  if (pr.n_q_heads > 65535) {
    return invalid_argument("n_q_heads={} exceeds the combine grid limit", pr.n_q_heads);
  }

  if (tma && !decode_tma_supported(pr, limits)) {
    if (limits.cc_major < 9) {
      return invalid_argument("tma=1 needs TMA tensor copies (sm_90+), device is sm_{}{}", limits.cc_major,
                              limits.cc_minor);
    }
    return invalid_argument("tma=1 copies 64-column swizzled boxes: head dim 64, 128 or 256, not {}", pr.head_dim);
  }
  const Geometry g = geometry(pr, *this);
  if (use_mma) {
    if (warps_m < 1 || warps % warps_m != 0) {
      return invalid_argument("warps_m={} must divide warps={}", warps_m, warps);
    }
    if (warps_m > g.m_tiles) {
      return invalid_argument("warps_m={} exceeds the {} m16 tiles of {} rows per CTA", warps_m, g.m_tiles, g.rows_cta);
    }
    if (g.kw < 16 || g.kw % 16 != 0) {
      return invalid_argument("block_n={} over {} key-splitting warps gives {} keys per warp, not a multiple of 16",
                              block_n, g.warps_n, g.kw);
    }
    if (g.acc_regs > kDecodeMaxAccRegs) {
      return resource_exhausted(
          "rows do not fit: {} rows per CTA need {} accumulator registers per thread (limit {}); raise "
          "warps_m or row_blocks, or lower block_n",
          g.rows_cta, g.acc_regs, kDecodeMaxAccRegs);
    }
  } else {
    if (warps_m != 1) return invalid_argument("warps_m={} must be 1 on CUDA cores (use_mma=0)", warps_m);
    if (g.rows_cta > 8) {
      return invalid_argument("use_mma=0 handles at most 8 rows per CTA, G*q_len/row_blocks gives {}", g.rows_cta);
    }
    const int keys_per_step = 32 / g.lanes_per_key;
    if (g.kw < keys_per_step || g.kw % keys_per_step != 0) {
      return invalid_argument("block_n={} over warps={} gives {} keys per warp, not a multiple of {} (head dim {})",
                              block_n, warps, g.kw, keys_per_step, pr.head_dim);
    }
    if (g.acc_regs > kDecodeMaxAccRegs) {
      return resource_exhausted("use_mma=0 with {} rows and {} keys per warp needs {} registers per thread (limit {})",
                                g.rows_cta, g.kw, g.acc_regs, kDecodeMaxAccRegs);
    }
  }
  // ptxas adds ~80-95 registers to the accumulators (addresses, softmax state, loop control).
  const int est_regs = std::min(255, g.acc_regs + 96);
  if (int64_t{est_regs} * 32 * warps > limits.max_registers_per_block) {
    return resource_exhausted(
        "warps={} with ~{} registers per thread exceeds the {} registers of a CTA; use fewer warps", warps, est_regs,
        limits.max_registers_per_block);
  }
  if (g.shared_bytes > limits.max_shared_per_block_optin) {
    return resource_exhausted("shared memory {} bytes (block_n={}, stages={}, head dim {}) exceeds the device limit {}",
                              g.shared_bytes, block_n, stages, pr.head_dim, limits.max_shared_per_block_optin);
  }
  return ok_status();
}

std::span<const ConfigField<DecodeConfig>> DecodeConfig::fields() {
  using F = ConfigField<DecodeConfig>;
  using L = LegalValues;
  static const F table[] = {
      {"block_n",
       &DecodeConfig::block_n,
       L::one_of({16, 32, 64, 128, 256}),
       {16, 32, 64, 128, 256},
       "kBlockN",
       "keys per K/V tile (pipeline stage)"},
      {"warps", &DecodeConfig::warps, L::one_of({1, 2, 4, 8, 16}), {1, 2, 4, 8, 16}, "kWarps", "warps per CTA"},
      // Legal values depend on warps and the rows (validate()).
      {"warps_m", &DecodeConfig::warps_m, L::any(), {1, 2, 4, 8}, "kWarpsM", "mma: warp groups along the query rows"},
      {"stages", &DecodeConfig::stages, L::range(2, 8), {2, 3, 4, 6, 8}, "kStages", "cp.async pipeline stages"},
      {"use_mma",
       &DecodeConfig::use_mma,
       L::any(),
       {0, 1},
       "kUseMma",
       "tensor-core (mma.sync) inner loop, else CUDA cores"},
      // 1..G*q_len (validate()); the tuner drops the values above the rows.
      {"row_blocks",
       &DecodeConfig::row_blocks,
       L::any(),
       {1, 2, 4},
       "kRowBlocks",
       "CTAs sharing the G*q_len rows of a KV head"},
      // A run-time value in GqaParams: not in the traits, so it does not change the source.
      {"num_splits",
       &DecodeConfig::num_splits,
       L::range(0, 65535),
       {0, 1, 2, 4, 8, 16, 32, 64, 128},
       "",
       "split-KV chunks per (sequence, KV head), 0 = chosen at launch"},
      {"fused_combine",
       &DecodeConfig::fused_combine,
       L::any(),
       {0, 1},
       "kFusedCombine",
       "split-KV merge by the last CTA of a KV head"},
      {"tma", &DecodeConfig::tma, L::any(), {0, 1}, "kTma", "K/V tiles by TMA tensor-map copies (sm_90+)"},
  };
  return table;
}

std::string DecodeConfig::canonical() const {
  return fields::canonical(fields(), *this);
}

Result<DecodeConfig> DecodeConfig::parse(const std::string& text, const DecodeConfig& base) {
  return fields::parse<DecodeConfig>(kFamily, fields(), text, base);
}

DecodeConfig default_decode_config(const AttentionProblem& pr, const DeviceLimits& limits) {
  const int d = pr.head_dim;
  const int rows = pr.group() * static_cast<int>(pr.q_len);
  // ~32 KB of K+V per stage: enough bytes in flight per cp.async wave.
  const int bn0 = d == 64 ? 128 : (d == 256 ? 32 : 64);

  auto finish = [&](DecodeConfig c) {
    // Deepest pipeline up to 4 stages that fits. On the H200 one CTA per SM with 4 x 32 KB
    // stages matched or beat two CTAs with 3 stages (8:1/d128/128K B=1: 25.9 us either way;
    // 8:1/d64: 16.1 vs 19.4 us; 32:8/d128 B=16 16K: 4.18 vs 4.07 TB/s), with half the splits.
    int best = 0;
    for (int s = 2; s <= 4; ++s) {
      c.stages = s;
      if (c.validate(pr, limits).ok()) best = s;
    }
    c.stages = std::max(best, 2);
    return c;
  };

  // TMA tile copies wherever the device and head dim allow them. Streaming K/V alone (no
  // attention math) into a 4-stage ring, one CTA per (sequence, KV head), H200: 4.59 TB/s
  // against 4.35 for cp.async at d128 (128 CTAs), 4.57 against 3.01 at d256 (64 CTAs)
  // (bench/copy_paths.cu).
  const bool tma = decode_tma_supported(pr, limits);
  DecodeConfig chosen;
  bool found = false;
  if (rows <= 2) {
    // CUDA cores: an m16 tile would be 7/8 padding.
    DecodeConfig c;
    c.tma = tma;
    c.use_mma = false;
    c.warps = 4;
    c.warps_m = 1;
    c.block_n = bn0;
    c = finish(c);
    if (c.validate(pr, limits).ok()) {
      chosen = c;
      found = true;
    }
  }
  const int m_tiles = ceil_div(rows, 16);
  if (!found && m_tiles >= 2) {
    // Several m16 tiles (speculative steps, G*q_len > 16): one tile per warp, every warp over
    // the whole K/V tile. H200, bf16 d128, µs (this vs the fewest warp groups that fit):
    // 8:1 b1 128K q4 27.9 vs 29.4, q8 36.6 vs 38.5, q16 46.3 vs 56.6; 32:8 b16 16K q16 298.9
    // vs 332.2; 16:2 b4 32K q8 52.0 vs 56.6, q16 71.9 vs 91.6. Four tiles ran best on half
    // tiles (36.6 vs 42.6 us), eight on full ones (46.3 vs 48.3).
    DecodeConfig c;
    c.tma = tma;
    c.use_mma = true;
    c.warps_m = m_tiles;
    c.warps = std::max(4, m_tiles);
    c.block_n = m_tiles == 4 ? bn0 / 2 : bn0;
    c = finish(c);
    if (c.validate(pr, limits).ok()) {
      chosen = c;
      found = true;
    }
  }
  for (int rb = 1; !found && rb <= rows; ++rb) {
    for (int warps : {4, 8, 16}) {
      if (found) break;
      for (int wm = 1; wm <= warps && !found; wm *= 2) {
        for (int bn : {bn0, bn0 * 2, bn0 / 2, bn0 * 4}) {
          if (bn < 16 || bn > 256) continue;
          DecodeConfig c;
          c.tma = tma;
          c.use_mma = true;
          c.warps = warps;
          c.warps_m = wm;
          c.block_n = bn;
          c.row_blocks = rb;
          c = finish(c);
          if (c.validate(pr, limits).ok()) {
            chosen = c;
            found = true;
            break;
          }
        }
      }
    }
  }
  // The split-KV merge runs as the separate combine kernel, launched programmatically so that it
  // starts under the main kernel's tail. The fused merge (the last CTA of a KV head) lost where
  // the default used to take it (2-4 splits, few rows): over those 49 suite shapes on the H200
  // (run 23f) the separate combine ran 1.018x faster in geometric mean, up to 1.26x at short
  // keys (40:8 d128 b4 1K: 9.4 vs 11.8 us; 8:1 d64 b1 1K: 6.3 vs 7.8), and within 0.5% above
  // 16K keys. fused_combine stays a tunable field.
  chosen.fused_combine = false;
  chosen.num_splits = choose_num_splits(pr, chosen, limits);
  return chosen;
}

Result<DecodeLaunch> decode_launch(const AttentionProblem& pr, const DecodeConfig& c, const DeviceLimits& limits) {
  GQF_RETURN_IF_ERROR(c.validate(pr, limits));
  const Geometry g = geometry(pr, c);
  DecodeLaunch l{};
  const int requested = c.num_splits > 0 ? c.num_splits : choose_num_splits(pr, c, limits);
  // Clip to the tiles of the longest sequence, then drop splits that the rounding left empty.
  const int64_t tiles = ceil_div(pr.kv_len, c.block_n);
  const int splits = static_cast<int>(std::min<int64_t>(requested, std::max<int64_t>(tiles, 1)));
  l.split_len = split_len_for(pr.kv_len, splits, c.block_n);
  l.num_splits = static_cast<int>(ceil_div(pr.kv_len, l.split_len));
  if (int64_t{l.num_splits} * c.row_blocks > INT32_MAX) {
    return invalid_argument("num_splits={} x row_blocks={} exceeds the grid limit", l.num_splits, c.row_blocks);
  }
  l.grid[0] = static_cast<unsigned>(l.num_splits * c.row_blocks);
  l.grid[1] = static_cast<unsigned>(pr.n_kv_heads);
  l.grid[2] = static_cast<unsigned>(pr.batch);
  l.block[0] = static_cast<unsigned>(32 * c.warps);
  l.block[1] = l.block[2] = 1;
  l.shared_bytes = g.shared_bytes;
  l.combine_grid[0] = static_cast<unsigned>(pr.n_q_heads);
  l.combine_grid[1] = static_cast<unsigned>(pr.q_len);
  l.combine_grid[2] = static_cast<unsigned>(pr.batch);
  l.combine_block[0] = kCombineThreads;
  l.combine_block[1] = l.combine_block[2] = 1;
  l.combine_shared_bytes = (kCombineThreads / 32) * pr.head_dim * 4;
  if (l.num_splits > 1) {
    // Sizes of a validated problem: positive, so the products convert to size_t unchanged.
    const auto rows_total = static_cast<size_t>(l.num_splits * pr.batch * pr.q_len * pr.n_q_heads);
    l.o_partial_offset = 0;
    l.lse_partial_offset = rows_total * static_cast<size_t>(pr.head_dim) * sizeof(float);
    l.counters_offset = l.lse_partial_offset + rows_total * sizeof(float);
    l.counters_bytes = c.fused_combine ? static_cast<size_t>(pr.batch * pr.n_kv_heads) * sizeof(uint32_t) : 0;
    l.workspace_bytes = l.counters_offset + l.counters_bytes;
    l.needs_combine_kernel = !c.fused_combine;
  } else {
    l.workspace_bytes = l.o_partial_offset = l.lse_partial_offset = l.counters_offset = l.counters_bytes = 0;
    l.needs_combine_kernel = false;
  }
  return l;
}

}  // namespace gqaforge::codegen
