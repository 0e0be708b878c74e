// The decode family (codegen/kernels/decode.cuh): one step of q_len query tokens per sequence
// against the KV cache, split-KV with a separate or fused combine.
#include "codegen/emit_families.h"
#include "codegen/emitter.h"
#include "codegen/family.h"

namespace gqaforge::codegen {

KernelSource emit_decode(const AttentionProblem& problem, const DecodeConfig& config) {
  TraitsBuilder traits;
  add_problem_traits(problem, traits);
  fields::add_traits(DecodeConfig::fields(), config, traits);
  // num_splits is a launch parameter: the source (and the compile key) does not depend on it.
  DecodeConfig compiled = config;
  compiled.num_splits = 0;
  // The TMA kernel's entry point takes the K/V tensor maps as a second argument.
  return assemble_source(DecodeConfig::kFamily, problem, compiled.canonical(), traits,
                         {"gqaforge_decode", "gqaforge_decode_combine"}, config.tma ? "#define GQF_DECODE_TMA\n" : "");
}

namespace {

class DecodeFamily final : public TypedFamily<DecodeConfig> {
 public:
  std::optional<Phase> phase() const override { return Phase::kDecode; }
  bool memory_bound() const override { return true; }

  Result<KernelConfig> resolve(const AttentionProblem& problem, const KernelConfig& config,
                               const DeviceLimits& limits) const override {
    GQF_ASSIGN_OR_RETURN(LaunchPlan plan, launch_plan(problem, config, limits));
    DecodeConfig pinned = of(config);
    pinned.num_splits = plan.num_splits;
    return KernelConfig(pinned);
  }

 protected:
  DecodeConfig heuristic(const AttentionProblem& problem, const DeviceLimits& limits) const override {
    return default_decode_config(problem, limits);
  }
  KernelSource emit_source(const AttentionProblem& problem, const DecodeConfig& config) const override {
    return emit_decode(problem, config);
  }
  Result<LaunchPlan> plan(const AttentionProblem& problem, const DecodeConfig& config,
                          const DeviceLimits& limits) const override {
    GQF_ASSIGN_OR_RETURN(DecodeLaunch l, decode_launch(problem, config, limits));
    LaunchPlan p;
    LaunchShape main = launch_shape("gqaforge_decode", l.grid, l.block, l.shared_bytes);
    if (config.tma) main.kv_map_rows = config.block_n;
    p.launches.push_back(main);
    if (l.needs_combine_kernel) {
      LaunchShape combine =
          launch_shape("gqaforge_decode_combine", l.combine_grid, l.combine_block, l.combine_shared_bytes);
      combine.programmatic = limits.cc_major >= 9;
      p.launches.push_back(combine);
    }
    p.num_splits = l.num_splits;
    p.split_len = l.split_len;
    WorkspacePlan& w = p.workspace;
    w.bytes = l.workspace_bytes;
    w.o_partial_offset = l.o_partial_offset;
    w.lse_partial_offset = l.lse_partial_offset;
    w.zero_offset = l.counters_offset;
    w.zero_bytes = l.counters_bytes;
    w.layout = fmt::format("{}:{}:{}:{}:{}:{}:{}", l.workspace_bytes, l.o_partial_offset, l.lse_partial_offset,
                           l.counters_offset, l.counters_bytes, problem.batch, problem.n_kv_heads);
    return p;
  }
};

}  // namespace

const KernelFamily& decode_family() {
  static const DecodeFamily family;
  return family;
}

}  // namespace gqaforge::codegen
