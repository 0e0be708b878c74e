// Launch of the GPU reference kernel.
#include "runtime/attention.h"
#include "runtime/attention_op.h"

namespace gqaforge::runtime {

Status reference_attention(Jit& jit, const codegen::AttentionProblem& problem, const GqaParams& params,
                           CUstream stream) {
  GQF_ASSIGN_OR_RETURN(const codegen::KernelFamily* reference, codegen::find_family(codegen::ReferenceConfig::kFamily));
  Workspace none;  // the reference uses no scratch memory
  // Its launch depends on no device limit.
  return launch_family(jit, *reference, problem, codegen::ReferenceConfig{}, codegen::DeviceLimits{}, params, none,
                       stream);
}

}  // namespace gqaforge::runtime
