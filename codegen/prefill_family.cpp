// The prefill family (codegen/kernels/prefill.cuh): every query token of every sequence against
// its keys, on mma.sync or (Hopper, wgmma=1) warpgroup mma.
#include <algorithm>

#include "codegen/emit_families.h"
#include "codegen/emitter.h"
#include "codegen/family.h"
#include "codegen/wgmma_ops.h"

namespace gqaforge::codegen {

KernelSource emit_prefill(const AttentionProblem& problem, const PrefillConfig& config) {
  TraitsBuilder traits;
  add_problem_traits(problem, traits);
  fields::add_traits(PrefillConfig::fields(), config, traits);
  traits.add_int("kSharedBytes", prefill_shared_bytes(problem, config), "dynamic shared memory, checked by the kernel");
  // The Hopper generation's two products: S = Q K^T (N = block_n), O += P V (N = head dim).
  const std::string generated =
      config.wgmma ? emit_wgmma_ops(problem.dtype, {config.block_n}, {problem.head_dim}) : std::string();
  return assemble_source(PrefillConfig::kFamily, problem, config.canonical(), traits, {"gqaforge_prefill"}, generated);
}

namespace {

class PrefillFamily final : public TypedFamily<PrefillConfig> {
 public:
  std::optional<Phase> phase() const override { return Phase::kPrefill; }

  /// The grid covers the longest sequence of the batch (params.q_len for varlen).
  AttentionProblem launch_problem(const AttentionProblem& problem, const GqaParams& params) const override {
    AttentionProblem p = problem;
    p.q_len = std::max(params.q_len, 1);
    return p;
  }

 protected:
  PrefillConfig heuristic(const AttentionProblem& problem, const DeviceLimits& limits) const override {
    return default_prefill_config(problem, limits);
  }
  KernelSource emit_source(const AttentionProblem& problem, const PrefillConfig& config) const override {
    return emit_prefill(problem, config);
  }
  Result<LaunchPlan> plan(const AttentionProblem& problem, const PrefillConfig& config,
                          const DeviceLimits& limits) const override {
    GQF_ASSIGN_OR_RETURN(PrefillLaunch l, prefill_launch(problem, config, limits, false));
    LaunchPlan p;
    p.launches.push_back(launch_shape("gqaforge_prefill", l.grid, l.block, l.shared_bytes));
    return p;
  }
};

}  // namespace

const KernelFamily& prefill_family() {
  static const PrefillFamily family;
  return family;
}

}  // namespace gqaforge::codegen
