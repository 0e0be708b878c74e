// Launch of the decode family: main kernel, then the combine kernel when split-KV needs it.
#include "runtime/attention.h"
#include "runtime/attention_op.h"

namespace gqaforge::runtime {

Status decode_attention(Jit& jit, const codegen::AttentionProblem& problem, const codegen::DecodeConfig& config,
                        const codegen::DeviceLimits& limits, GqaParams params, Workspace& workspace, CUstream stream) {
  GQF_RETURN_IF_ERROR(problem.validate());
  if (problem.phase != codegen::Phase::kDecode) return invalid_argument("decode_attention needs a decode problem");
  return launch_family(jit, codegen::family_for(codegen::Phase::kDecode), problem, config, limits, params, workspace,
                       stream);
}

}  // namespace gqaforge::runtime
