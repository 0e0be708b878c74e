// The CPU families (cpu_decode, cpu_prefill): configs and work decomposition from
// codegen/cpu_config.h; their "source" is the kernel spec's text, from which the CPU module
// (backends/cpu/) generates LLVM IR. A launch plan has one "launch": the generated function
// over every work item, with the split-KV partials' workspace when the keys are split.
#include "codegen/family.h"

namespace gqaforge::codegen {
namespace {

KernelSource cpu_source(const char* family, const AttentionProblem& problem, const CpuKernelSpec& spec) {
  KernelSource s;
  s.family = family;
  s.name = fmt::format("{} {}", family, problem.name());
  s.code = spec.text() + "\n";
  s.entry_points = {spec.symbol()};
  return s;
}

LaunchPlan cpu_plan(const AttentionProblem& problem, const CpuKernelSpec& spec, const CpuWork& work) {
  LaunchPlan p;
  LaunchShape shape;
  shape.entry = spec.symbol();
  // grid[0] = work items, block[0] = worker threads: what the runner spreads.
  shape.grid[0] = static_cast<unsigned>(std::min<int64_t>(work.items(), UINT32_MAX));
  shape.block[0] = static_cast<unsigned>(work.threads);
  p.launches.push_back(shape);
  p.num_splits = work.num_splits;
  p.split_len = work.split_len;
  if (work.num_splits > 1) {
    // Same layout as the GPU decode's workspace: o_partial then lse_partial (fp32).
    const auto rows = static_cast<size_t>(work.num_splits * problem.batch * problem.q_len * problem.n_q_heads);
    WorkspacePlan& w = p.workspace;
    w.o_partial_offset = 0;
    w.lse_partial_offset = rows * static_cast<size_t>(problem.head_dim) * sizeof(float);
    w.bytes = w.lse_partial_offset + rows * sizeof(float);
    w.layout = fmt::format("cpu:{}:{}", w.bytes, work.num_splits);
  }
  return p;
}

// Both CPU families: the phase, the heuristic and the work decomposition are what differ.
template <class Config, Phase kPhase, Config (*kHeuristic)(const AttentionProblem&, const DeviceLimits&),
          Result<CpuWork> (*kWork)(const AttentionProblem&, const Config&, const DeviceLimits&)>
class CpuFamily final : public TypedFamily<Config> {
 public:
  std::optional<Phase> phase() const override { return kPhase; }
  Target target() const override { return Target::kCpu; }
  bool memory_bound() const override { return kPhase == Phase::kDecode; }
  bool vector_access() const override { return false; }

  Result<KernelConfig> resolve(const AttentionProblem& problem, const KernelConfig& config,
                               const DeviceLimits& limits) const override {
    if constexpr (requires(Config c) { c.num_splits; }) {
      // The split count the launch picks, fixed.
      GQF_ASSIGN_OR_RETURN(CpuWork work, kWork(problem, this->of(config), limits));
      Config pinned = this->of(config);
      pinned.num_splits = work.num_splits;
      return KernelConfig(pinned);
    } else {
      return config;
    }
  }

 protected:
  Config heuristic(const AttentionProblem& problem, const DeviceLimits& limits) const override {
    return kHeuristic(problem, limits);
  }
  KernelSource emit_source(const AttentionProblem& problem, const Config& config) const override {
    return cpu_source(Config::kFamily, problem, cpu_kernel_spec(problem, config));
  }
  Result<LaunchPlan> plan(const AttentionProblem& problem, const Config& config,
                          const DeviceLimits& limits) const override {
    GQF_ASSIGN_OR_RETURN(CpuWork work, kWork(problem, config, limits));
    return cpu_plan(problem, cpu_kernel_spec(problem, config), work);
  }
};

using CpuDecodeFamily = CpuFamily<CpuDecodeConfig, Phase::kDecode, default_cpu_decode_config, cpu_decode_work>;
using CpuPrefillFamily = CpuFamily<CpuPrefillConfig, Phase::kPrefill, default_cpu_prefill_config, cpu_prefill_work>;

}  // namespace

const KernelFamily& cpu_decode_family() {
  static const CpuDecodeFamily family;
  return family;
}

const KernelFamily& cpu_prefill_family() {
  static const CpuPrefillFamily family;
  return family;
}

}  // namespace gqaforge::codegen
