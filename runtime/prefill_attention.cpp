// Launch of the prefill family.
#include "codegen/emit_families.h"
#include "runtime/attention.h"

namespace gqaforge::rt {

Status prefill_attention(Jit& jit, const AttentionProblem& problem, const PrefillConfig& config,
                         const DeviceLimits& limits, const GqaParams& params, CUstream stream) {
  GQF_RETURN_IF_ERROR(problem.validate());
  if (problem.phase != Phase::kPrefill) return invalid_argument("prefill_attention needs a prefill problem");
  bool varlen = params.cu_seqlens_q != nullptr;
  AttentionProblem launch_problem = problem;
  launch_problem.q_len = std::max(params.q_len, 1);
  GQF_ASSIGN_OR_RETURN(PrefillLaunch launch, prefill_launch(launch_problem, config, limits, varlen));
  GQF_ASSIGN_OR_RETURN(const LoadedKernel* kernel, jit.load(emit_prefill(problem, config)));
  GQF_ASSIGN_OR_RETURN(Function fn, kernel->function("gqaforge_prefill"));
  if (launch.shared_bytes > 48 * 1024) GQF_RETURN_IF_ERROR(fn.set_max_dynamic_shared(launch.shared_bytes));
  return fn.launch(launch.grid, launch.block, launch.shared_bytes, stream, &params);
}

}  // namespace gqaforge::rt
