// Launch of the prefill family.
#include "runtime/attention.h"
#include "runtime/attention_op.h"

namespace gqaforge::rt {

Status prefill_attention(Jit& jit, const AttentionProblem& problem, const PrefillConfig& config,
                         const DeviceLimits& limits, const GqaParams& params, CUstream stream) {
  GQF_RETURN_IF_ERROR(problem.validate());
  if (problem.phase != Phase::kPrefill) return invalid_argument("prefill_attention needs a prefill problem");
  Workspace none;  // prefill uses no scratch memory
  return launch_family(jit, family_for(Phase::kPrefill), problem, config, limits, params, none, stream);
}

}  // namespace gqaforge::rt
