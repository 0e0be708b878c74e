// The CPU families' search spaces and a host roofline for the guided searcher: the K/V bytes
// (once per head block) at a memory bandwidth that grows with the threads until it saturates,
// against the two matmuls' FLOPs at vec-wide FMAs, plus the per-item and split-combine costs.
#include <algorithm>
#include <cmath>
#include <limits>

#include "autotune/family_space.h"
#include "core/int_math.h"

namespace gqaforge::autotune {

using codegen::AttentionProblem;
using codegen::DeviceLimits;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// A generic server core: ~10 GB/s of streaming reads each, ~120 GB/s for the socket, two FMA
// pipes at ~3 GHz; only the ranking of configs depends on these.
constexpr double kBytesPerThread = 10e9, kBytesPerHost = 120e9, kFmaPerCycle = 2, kHz = 3e9;

double predict_cpu_us(const AttentionProblem& p, const codegen::KernelFamily& family,
                      const codegen::KernelConfig& config, const DeviceLimits& limits) {
  if (!family.validate(p, config, limits).ok()) return kInf;
  auto plan = family.launch_plan(p, config, limits);
  if (!plan.ok()) return kInf;
  const double items = plan->launches.front().grid[0];
  const double threads = std::min<double>(plan->launches.front().block[0], std::max(1, limits.cpu_threads));
  int vec = 16, head_block = p.group();
  if (const auto* d = std::get_if<codegen::CpuDecodeConfig>(&config)) {
    vec = d->vec;
    head_block = codegen::cpu_kernel_spec(p, *d).head_block;
  } else if (const auto* f = std::get_if<codegen::CpuPrefillConfig>(&config)) {
    vec = f->vec;
    head_block = codegen::cpu_kernel_spec(p, *f).head_block;
  }
  const double head_blocks = std::ceil(double(p.group()) / head_block);
  const double busy = std::min(threads, items);
  const double waves = std::ceil(items / threads);
  const double balance = items / (waves * threads);
  const double bytes = p.kv_bytes() * head_blocks;
  const double t_mem = bytes / std::min(kBytesPerHost, kBytesPerThread * busy);
  const double flops = p.flops() * 1.25;  // the lane reductions and the softmax beside the FMAs
  const double t_fma = flops / (2.0 * vec * kFmaPerCycle * kHz * busy);
  double us = (std::max(t_mem, t_fma) + 0.2 * std::min(t_mem, t_fma)) / balance * 1e6;
  us += 0.05 * items / threads + 5.0;  // per-item set-up, waking the workers
  if (plan->num_splits > 1) {
    us += 2.0 * 4.0 * plan->num_splits * double(p.batch) * double(p.q_len) * p.n_q_heads * (p.head_dim + 1) /
          kBytesPerHost * 1e6;
  }
  return us;
}

class CpuTuning : public TuningFamily {
 public:
  CpuTuning(codegen::Phase phase) : phase_(phase) {}
  const codegen::KernelFamily& kernel() const override { return codegen::family_for(phase_, codegen::Target::kCpu); }

  std::vector<int> axis(const codegen::FieldInfo& field, const AttentionProblem& p,
                        const DeviceLimits& limits) const override {
    std::vector<int> values = TuningFamily::axis(field, p, limits);
    if (field.name == "vec") {
      std::erase_if(values, [&](int v) { return v > limits.cpu_vector_floats || p.head_dim % v != 0; });
      if (values.empty()) values.push_back(4);
    }
    return values;
  }

  void add_constraints(SearchSpace& s, const AttentionProblem& p, const DeviceLimits& limits) const override {
    (void)limits;
    s.add_constraint("vec_divides_block_n", [](const PointValues& v) { return v["block_n"] % v["vec"] == 0; });
    if (phase_ == codegen::Phase::kDecode) {
      // Each split holds at least two tiles; more would only add combine traffic.
      s.add_constraint("splits_within_kv_tiles", [p](const PointValues& v) {
        return v["num_splits"] == 0 ||
               int64_t{v["num_splits"]} * 2 * v["block_n"] <= std::max<int64_t>(p.kv_len, 2 * v["block_n"]);
      });
    } else {
      // Tiles of queries longer than the sequence only repeat a smaller one.
      s.add_constraint("block_m_within_q_len",
                       [p](const PointValues& v) { return v["block_m"] <= std::max<int64_t>(4, p.q_len); });
    }
  }

  double predict_us(const AttentionProblem& p, const codegen::KernelConfig& config, const DeviceLimits& limits,
                    const Roofline&) const override {
    return predict_cpu_us(p, kernel(), config, limits);
  }

 private:
  codegen::Phase phase_;
};

}  // namespace

const TuningFamily& cpu_decode_tuning() {
  static const CpuTuning tuning(codegen::Phase::kDecode);
  return tuning;
}

const TuningFamily& cpu_prefill_tuning() {
  static const CpuTuning tuning(codegen::Phase::kPrefill);
  return tuning;
}

}  // namespace gqaforge::autotune
