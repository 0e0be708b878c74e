// Launch of the GPU reference kernel.
#include "runtime/attention.h"
#include "runtime/attention_op.h"

namespace gqaforge::rt {

Status reference_attention(Jit& jit, const AttentionProblem& problem, const GqaParams& params, CUstream stream) {
  GQF_ASSIGN_OR_RETURN(const KernelFamily* reference, find_family(ReferenceConfig::kFamily));
  Workspace none;  // the reference uses no scratch memory
  // Its launch depends on no device limit.
  return launch_family(jit, *reference, problem, ReferenceConfig{}, DeviceLimits{}, params, none, stream);
}

}  // namespace gqaforge::rt
