// The reference family (codegen/kernels/reference.cuh): the GPU oracle, one CTA per (query,
// head, sequence), for shapes too large for the CPU oracle. Nothing to tune.
#include <algorithm>

#include "codegen/emitter.h"
#include "codegen/family.h"

namespace gqaforge::codegen {

KernelSource emit_reference(const AttentionProblem& problem) {
  AttentionProblem p = problem;
  p.phase = Phase::kPrefill;  // the reference handles any q_len; q_len is not a static dim
  TraitsBuilder traits;
  add_problem_traits(p, traits);
  return assemble_source(ReferenceConfig::kFamily, p, "", traits, {"gqaforge_reference"});
}

namespace {

class ReferenceFamily final : public TypedFamily<ReferenceConfig> {
 public:
  std::optional<Phase> phase() const override { return std::nullopt; }
  bool vector_access() const override { return false; }

  Result<KernelConfig> parse(const std::string& text, const KernelConfig& base) const override {
    if (!trim(text).empty()) return invalid_argument("the reference kernel takes no config ('{}')", text);
    return base;
  }

  /// The grid covers the tensors' query tokens and sequences.
  AttentionProblem launch_problem(const AttentionProblem& problem, const GqaParams& params) const override {
    AttentionProblem p = problem;
    p.q_len = std::max(params.q_len, 1);
    p.batch = params.batch;
    return p;
  }

 protected:
  ReferenceConfig heuristic(const AttentionProblem&, const DeviceLimits&) const override { return {}; }
  KernelSource emit_source(const AttentionProblem& problem, const ReferenceConfig&) const override {
    return emit_reference(problem);
  }
  Result<LaunchPlan> plan(const AttentionProblem& problem, const ReferenceConfig&, const DeviceLimits&) const override {
    const unsigned grid[3] = {static_cast<unsigned>(std::max<int64_t>(problem.q_len, 1)),
                              static_cast<unsigned>(problem.n_q_heads), static_cast<unsigned>(problem.batch)};
    const unsigned block[3] = {128, 1, 1};
    LaunchPlan p;
    p.launches.push_back(launch_shape("gqaforge_reference", grid, block, 0));
    return p;
  }
};

}  // namespace

const KernelFamily& reference_family() {
  static const ReferenceFamily family;
  return family;
}

}  // namespace gqaforge::codegen
