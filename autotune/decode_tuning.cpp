// The decode family's search space rules and roofline prediction.
#include <algorithm>
#include <cmath>
#include <limits>

#include "autotune/family_space.h"
#include "core/int_math.h"

namespace gqaforge::autotune {

using codegen::AttentionProblem;
using codegen::DecodeConfig;
using codegen::DeviceLimits;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

DecodeConfig decode_of(const PointValues& v) {
  return codegen::fields::from_values(codegen::DecodeConfig::fields(), v.all());
}

double predict_decode_us(const AttentionProblem& p, const DecodeConfig& c, const DeviceLimits& limits,
                         const Roofline& roof) {
  if (!c.validate(p, limits).ok()) return kInf;
  auto launch = codegen::decode_launch(p, c, limits);
  if (!launch.ok()) return kInf;
  const double ctas = double(launch->grid[0]) * launch->grid[1] * launch->grid[2];
  const int threads = 32 * c.warps;
  const int by_smem = limits.max_shared_per_sm / (launch->shared_bytes + 1024);
  const int by_threads = limits.max_threads_per_sm / threads;
  const int per_sm = std::max(1, std::min({by_smem, by_threads, 16}));
  const double sms = limits.sm_count;
  const double slots = sms * per_sm;
  const double waves = std::ceil(ctas / slots);
  // SMs with work, and the bytes each keeps in flight through its cp.async pipelines.
  const double busy_sms = std::min(sms, ctas);
  const double resident = std::min<double>(per_sm, std::ceil(ctas / sms));
  const double tile_bytes = 2.0 * c.block_n * p.head_dim * dtype_bytes(p.dtype);
  const double in_flight = resident * std::max(1, c.stages - 1) * tile_bytes;
  const double mlp = std::min(1.0, in_flight / roof.bytes_in_flight_per_sm);
  const double wave_eff = ctas / (waves * std::min(slots, ctas));
  const double kv_bytes = p.kv_bytes() * c.row_blocks;
  // Per-thread cp.async streams K/V about 5% slower than TMA tile copies (H200, one CTA per
  // (sequence, KV head), bench/copy_paths.cu: 4.35 vs 4.59 TB/s at d128).
  const double copy_eff = c.tma ? 1.0 : 0.95;
  const double bandwidth = roof.dram_bytes_per_s * (busy_sms / sms) * mlp * wave_eff * copy_eff;
  const double t_mem = kv_bytes / bandwidth;
  // Compute: mma pads the rows of a CTA to m16 tiles; CUDA cores do not.
  const int rows = p.group() * static_cast<int>(p.q_len);
  const double rows_cta = std::ceil(double(rows) / c.row_blocks);
  const double padded_rows = c.use_mma ? std::ceil(rows_cta / 16) * 16 * c.row_blocks : rows;
  const double flops =
      4.0 * static_cast<double>(p.batch) * p.n_kv_heads * padded_rows * static_cast<double>(p.kv_len) * p.head_dim;
  const double rate = (c.use_mma ? roof.mma_flops_per_s : roof.fma_flops_per_s) * (busy_sms / sms);
  const double t_compute = flops / rate;
  double seconds = std::max(t_mem, t_compute) + 0.15 * std::min(t_mem, t_compute);
  double us = seconds * 1e6 + roof.launch_us;
  if (launch->num_splits > 1) {
    // Partial outputs written and read back, plus the combine (a kernel or the last CTA).
    const double partial_bytes = 2.0 * 4.0 * launch->num_splits * static_cast<double>(p.batch) *
                                 static_cast<double>(p.q_len) * p.n_q_heads * (p.head_dim + 1);
    us += partial_bytes / roof.dram_bytes_per_s * 1e6 + (launch->needs_combine_kernel ? 2.0 : 0.8);
    us += 0.004 * launch->num_splits;
  }
  return us;
}

class DecodeTuning final : public TuningFamily {
 public:
  const codegen::KernelFamily& kernel() const override { return codegen::family_for(codegen::Phase::kDecode); }

  std::vector<int> axis(const codegen::FieldInfo& field, const AttentionProblem& p,
                        const DeviceLimits& limits) const override {
    std::vector<int> values = TuningFamily::axis(field, p, limits);
    if (field.name == "row_blocks") {
      // More row blocks than rows would leave CTAs without rows.
      const int rows = p.group() * static_cast<int>(p.q_len);
      std::erase_if(values, [rows](int r) { return r > rows; });
    }
    if (field.name == "tma" && !codegen::decode_tma_supported(p, limits)) values = {0};
    return values;
  }

  void add_constraints(SearchSpace& s, const AttentionProblem& p, const DeviceLimits& limits) const override {
    const int rows = p.group() * static_cast<int>(p.q_len);
    const int lanes_per_key = p.head_dim == 64 ? 8 : (p.head_dim == 256 ? 32 : 16);
    auto rows_cta = [rows](const PointValues& v) { return ceil_div(rows, v["row_blocks"]); };
    s.add_constraint("warps_m_divides_warps", [](const PointValues& v) { return v["warps"] % v["warps_m"] == 0; });
    s.add_constraint("cuda_cores_one_warp_group",
                     [](const PointValues& v) { return v["use_mma"] == 1 || v["warps_m"] == 1; });
    s.add_constraint("cuda_cores_at_most_8_rows",
                     [rows_cta](const PointValues& v) { return v["use_mma"] == 1 || rows_cta(v) <= 8; });
    s.add_constraint("warps_m_within_m16_tiles", [rows_cta](const PointValues& v) {
      return v["use_mma"] == 0 || v["warps_m"] <= ceil_div(rows_cta(v), 16);
    });
    s.add_constraint("mma_keys_per_warp_multiple_of_16", [](const PointValues& v) {
      if (v["use_mma"] == 0) return true;
      const int kw = v["block_n"] / (v["warps"] / v["warps_m"]);
      return kw >= 16 && kw % 16 == 0;
    });
    s.add_constraint("cuda_core_keys_per_warp", [lanes_per_key](const PointValues& v) {
      if (v["use_mma"] == 1) return true;
      const int step = 32 / lanes_per_key;
      const int kw = v["block_n"] / v["warps"];
      return kw >= step && kw % step == 0;
    });
    s.add_constraint("threads_within_device",
                     [limits](const PointValues& v) { return 32 * v["warps"] <= limits.max_threads_per_block; });
    // Each split holds at least two K/V tiles; more would only add combine traffic.
    s.add_constraint("splits_within_kv_tiles", [p](const PointValues& v) {
      return v["num_splits"] == 0 ||
             int64_t{v["num_splits"]} * 2 * v["block_n"] <= std::max<int64_t>(p.kv_len, 2 * v["block_n"]);
    });
    // The combine flavour only matters with more than one split; keep one of the two twins.
    s.add_constraint("fused_combine_needs_splits",
                     [](const PointValues& v) { return v["fused_combine"] == 0 || v["num_splits"] != 1; });
    s.add_constraint("shared_memory_within_device", [p, limits](const PointValues& v) {
      return codegen::decode_shared_bytes(p, decode_of(v)) <= limits.max_shared_per_block_optin;
    });
  }

  double predict_us(const AttentionProblem& p, const codegen::KernelConfig& config, const DeviceLimits& limits,
                    const Roofline& roof) const override {
    const DecodeConfig* c = std::get_if<DecodeConfig>(&config);
    return c != nullptr ? predict_decode_us(p, *c, limits, roof) : kInf;
  }
};

}  // namespace

const TuningFamily& decode_tuning() {
  static const DecodeTuning tuning;
  return tuning;
}

}  // namespace gqaforge::autotune
