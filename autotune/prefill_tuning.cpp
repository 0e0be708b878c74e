// The prefill family's search space rules and roofline prediction.
#include <algorithm>
#include <cmath>
#include <limits>

#include "autotune/family_space.h"

namespace gqaforge::autotune {

using codegen::AttentionProblem;
using codegen::DeviceLimits;
using codegen::PrefillConfig;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

PrefillConfig prefill_of(const PointValues& v) {
  return codegen::fields::from_values(codegen::PrefillConfig::fields(), v.all());
}

double predict_prefill_us(const AttentionProblem& p, const PrefillConfig& c, const DeviceLimits& limits,
                          const Roofline& roof) {
  if (!c.validate(p, limits).ok()) return kInf;
  auto launch = codegen::prefill_launch(p, c, limits, false);
  if (!launch.ok()) return kInf;
  const double ctas = double(launch->grid[0]) * launch->grid[1] * launch->grid[2];
  const int threads = 32 * c.warps;
  const int regs = std::max(32, codegen::prefill_register_estimate(p, c));
  const int by_smem = limits.max_shared_per_sm / (launch->shared_bytes + 1024);
  const int by_threads = limits.max_threads_per_sm / threads;
  const int by_regs = limits.max_registers_per_sm / (threads * regs);
  const int per_sm = std::max(1, std::min({by_smem, by_threads, by_regs, 16}));
  const double slots = double(limits.sm_count) * per_sm;
  const double waves = std::ceil(ctas / slots);
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
  if (p.causal && p.q_len > 0) {
    waste += 0.5 * (double(c.block_m) / (c.pack_gqa ? p.group() : 1) + c.block_n) / double(p.q_len);
  }
  const double rate =
      roof.mma_flops_per_s * 0.8 * tile_eff * wave_eff * std::min(1.0, hide) * packing * q_regs * engine;
  return p.flops() * waste / rate * 1e6 + roof.launch_us;
}

class PrefillTuning final : public TuningFamily {
 public:
  const codegen::KernelFamily& kernel() const override { return codegen::family_for(codegen::Phase::kPrefill); }

  std::vector<int> axis(const codegen::FieldInfo& field, const AttentionProblem& p,
                        const DeviceLimits& limits) const override {
    std::vector<int> values = TuningFamily::axis(field, p, limits);
    // The Hopper generation exists only where the device has warpgroup mma.
    if (field.name == "wgmma" && !limits.has_wgmma) std::erase(values, 1);
    return values;
  }

  void add_constraints(SearchSpace& s, const AttentionProblem& p, const DeviceLimits& limits) const override {
    s.add_constraint("block_m_is_16_warps_k", [](const PointValues& v) {
      const int unit = 16 * v["warps"];
      return v["block_m"] % unit == 0 && v["block_m"] / unit <= 2;
    });
    // pack_gqa=1 is the same kernel as 0 when G = 1: keep one twin.
    s.add_constraint("pack_gqa_needs_groups",
                     [p](const PointValues& v) { return v["pack_gqa"] == 0 || p.group() > 1; });
    s.add_constraint("threads_within_device",
                     [limits](const PointValues& v) { return 32 * v["warps"] <= limits.max_threads_per_block; });
    s.add_constraint("shared_memory_within_device", [p, limits](const PointValues& v) {
      const int shared = codegen::prefill_shared_bytes(p, prefill_of(v));
      return v["min_ctas"] * (shared + 1024) <= limits.max_shared_per_sm && shared <= limits.max_shared_per_block_optin;
    });
  }

  double predict_us(const AttentionProblem& p, const codegen::KernelConfig& config, const DeviceLimits& limits,
                    const Roofline& roof) const override {
    const PrefillConfig* c = std::get_if<PrefillConfig>(&config);
    return c != nullptr ? predict_prefill_us(p, *c, limits, roof) : kInf;
  }
};

}  // namespace

const TuningFamily& prefill_tuning() {
  static const PrefillTuning tuning;
  return tuning;
}

}  // namespace gqaforge::autotune
