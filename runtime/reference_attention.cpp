// Launch of the GPU reference kernel.
#include "codegen/emitter.h"
#include "runtime/attention.h"

namespace gqaforge::rt {

Status reference_attention(Jit& jit, const AttentionProblem& problem, const GqaParams& params, CUstream stream) {
  GQF_RETURN_IF_ERROR(problem.validate());
  GQF_ASSIGN_OR_RETURN(const LoadedKernel* kernel, jit.load(emit_reference(problem)));
  GQF_ASSIGN_OR_RETURN(Function f, kernel->function("gqaforge_reference"));
  unsigned grid[3] = {static_cast<unsigned>(std::max(params.q_len, 1)), static_cast<unsigned>(problem.n_q_heads),
                      static_cast<unsigned>(params.batch)};
  unsigned block[3] = {128, 1, 1};
  return f.launch(grid, block, 0, stream, &params);
}

}  // namespace gqaforge::rt
