// Family emitters.
#include "codegen/emit_families.h"

#include "codegen/emitter.h"
#include "codegen/wgmma_ops.h"

namespace gqaforge {

KernelSource emit_decode(const AttentionProblem& problem, const DecodeConfig& config) {
  TraitsBuilder traits;
  add_problem_traits(problem, traits);
  add_decode_traits(problem, config, traits);
  // num_splits is a launch parameter: the source (and the compile key) does not depend on it.
  DecodeConfig compiled = config;
  compiled.num_splits = 0;
  return assemble_source("decode", problem, compiled.canonical(), traits,
                         {"gqaforge_decode", "gqaforge_decode_combine"});
}

KernelSource emit_prefill(const AttentionProblem& problem, const PrefillConfig& config) {
  TraitsBuilder traits;
  add_problem_traits(problem, traits);
  add_prefill_traits(problem, config, traits);
  // The Hopper generation's two products: S = Q K^T (N = block_n), O += P V (N = head dim).
  const std::string generated =
      config.wgmma ? emit_wgmma_ops(problem.dtype, {config.block_n}, {problem.head_dim}) : std::string();
  return assemble_source("prefill", problem, config.canonical(), traits, {"gqaforge_prefill"}, generated);
}

}  // namespace gqaforge
