// Launch of the prefill family.
#include "runtime/attention.h"
#include "runtime/attention_op.h"

namespace gqaforge::runtime {

Status prefill_attention(Jit& jit, const codegen::AttentionProblem& problem, const codegen::PrefillConfig& config,
                         const codegen::DeviceLimits& limits, const GqaParams& params, CUstream stream) {
  GQF_RETURN_IF_ERROR(problem.validate());
  if (problem.phase != codegen::Phase::kPrefill) return invalid_argument("prefill_attention needs a prefill problem");
  Workspace none;  // prefill uses no scratch memory
  return launch_family(jit, codegen::family_for(codegen::Phase::kPrefill), problem, config, limits, params, none,
                       stream);
}

}  // namespace gqaforge::runtime
