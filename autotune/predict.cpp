// Roofline/occupancy prediction.
#include "autotune/predict.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gqaforge::tune {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

double ceil_div(double a, double b) { return std::ceil(a / b); }

}  // namespace

double predict_decode_us(const AttentionProblem& p, const DecodeConfig& c, const DeviceLimits& limits,
                         const Roofline& roof) {
  if (!c.validate(p, limits).ok()) return kInf;
  auto launch = decode_launch(p, c, limits);
  if (!launch.ok()) return kInf;
  const double ctas = double(launch->grid[0]) * launch->grid[1] * launch->grid[2];
  const int threads = 32 * c.warps;
  const int by_smem = limits.max_shared_per_sm / (launch->shared_bytes + 1024);
  const int by_threads = limits.max_threads_per_sm / threads;
  const int per_sm = std::max(1, std::min({by_smem, by_threads, 16}));
  const double sms = limits.sm_count;
  const double slots = sms * per_sm;
  const double waves = ceil_div(ctas, slots);
  // SMs with work, and the bytes each keeps in flight through its cp.async pipelines.
  const double busy_sms = std::min(sms, ctas);
  const double resident = std::min<double>(per_sm, ceil_div(ctas, sms));
  const double tile_bytes = 2.0 * c.block_n * p.head_dim * dtype_bytes(p.dtype);
  const double in_flight = resident * std::max(1, c.stages - 1) * tile_bytes;
  const double mlp = std::min(1.0, in_flight / roof.bytes_in_flight_per_sm);
  const double wave_eff = ctas / (waves * std::min(slots, ctas));
  const double kv_bytes = 2.0 * p.batch * p.kv_len * p.n_kv_heads * p.head_dim * dtype_bytes(p.dtype) *
                          c.row_blocks;
  const double bandwidth = roof.dram_bytes_per_s * (busy_sms / sms) * mlp * wave_eff;
  const double t_mem = kv_bytes / bandwidth;
  // Compute: mma pads the rows of a CTA to m16 tiles; CUDA cores do not.
  const int rows = p.group() * static_cast<int>(p.q_len);
  const double rows_cta = std::ceil(double(rows) / c.row_blocks);
  const double padded_rows = c.use_mma ? std::ceil(rows_cta / 16) * 16 * c.row_blocks : rows;
  const double flops = 4.0 * p.batch * p.n_kv_heads * padded_rows * p.kv_len * p.head_dim;
  const double rate = (c.use_mma ? roof.mma_flops_per_s : roof.fma_flops_per_s) * (busy_sms / sms);
  const double t_compute = flops / rate;
  double seconds = std::max(t_mem, t_compute) + 0.15 * std::min(t_mem, t_compute);
  double us = seconds * 1e6 + roof.launch_us;
  if (launch->num_splits > 1) {
    // Partial outputs written and read back, plus the combine (a kernel or the last CTA).
    const double partial_bytes = 2.0 * 4.0 * launch->num_splits * p.batch * p.q_len * p.n_q_heads * (p.head_dim + 1);
    us += partial_bytes / roof.dram_bytes_per_s * 1e6 + (launch->needs_combine_kernel ? 2.0 : 0.8);
    us += 0.004 * launch->num_splits;
  }
  return us;
}

double predict_prefill_us(const AttentionProblem& p, const PrefillConfig& c, const DeviceLimits& limits,
                          const Roofline& roof) {
  if (!c.validate(p, limits).ok()) return kInf;
  auto launch = prefill_launch(p, c, limits, false);
  if (!launch.ok()) return kInf;
  const double ctas = double(launch->grid[0]) * launch->grid[1] * launch->grid[2];
  const int threads = 32 * c.warps;
  const int regs = std::max(32, prefill_register_estimate(p, c));
  const int by_smem = limits.max_shared_per_sm / (launch->shared_bytes + 1024);
  const int by_threads = limits.max_threads_per_sm / threads;
  const int by_regs = limits.max_registers_per_sm / (threads * regs);
  const int per_sm = std::max(1, std::min({by_smem, by_threads, by_regs, 16}));
  const double slots = double(limits.sm_count) * per_sm;
  const double waves = ceil_div(ctas, slots);
  const double wave_eff = ctas / (waves * slots);
  // Per-tile overheads (softmax, loads, barriers) amortise over bigger tiles.
  const double tile_eff = 1.0 / (1.0 + 24.0 / c.block_n + 24.0 / c.block_m);
  // Latency hiding: resident warps per SM and the pipeline depth.
  const double warps_sm = double(per_sm) * c.warps;
  const double hide = std::min(1.0, warps_sm / 8.0) * (c.stages >= 3 ? 1.04 : 1.0);
  const double packing = c.pack_gqa && p.group() > 1 ? 1.05 : 1.0;
  const double q_regs = c.q_in_regs ? 1.03 : 1.0;
  // The Hopper generation: about 1.45x the mma.sync kernel at equal tiles on H200 (d128: 490
  // against 340 TFLOP/s), and the staggered warpgroups (8 warps, >= 3 stages) another ~1.1x.
  const double engine = !c.wgmma ? 1.0 : (c.staggered() ? 1.6 : 1.45);
  // Causal: the diagonal tiles compute masked scores too.
  double waste = 1.0;
  if (p.causal && p.q_len > 0) waste += 0.5 * (double(c.block_m) / (c.pack_gqa ? p.group() : 1) + c.block_n) / p.q_len;
  const double rate =
      roof.mma_flops_per_s * 0.8 * tile_eff * wave_eff * std::min(1.0, hide) * packing * q_regs * engine;
  return p.flops() * waste / rate * 1e6 + roof.launch_us;
}

double predict_us(const AttentionProblem& problem, const std::string& family, const std::string& config_text,
                  const DeviceLimits& limits, const Roofline& roof) {
  if (family == "decode") {
    auto c = DecodeConfig::parse(config_text, default_decode_config(problem, limits));
    return c.ok() ? predict_decode_us(problem, *c, limits, roof) : kInf;
  }
  if (family == "prefill") {
    auto c = PrefillConfig::parse(config_text, default_prefill_config(problem, limits));
    return c.ok() ? predict_prefill_us(problem, *c, limits, roof) : kInf;
  }
  return kInf;
}

}  // namespace gqaforge::tune
