// The family registry and the parts every family shares.
#include "codegen/family.h"

namespace gqaforge::codegen {

// The families, each defined in its codegen/<name>_family.cpp.
const KernelFamily& decode_family();
const KernelFamily& prefill_family();
const KernelFamily& reference_family();
const KernelFamily& cpu_decode_family();
const KernelFamily& cpu_prefill_family();

std::span<const KernelFamily* const> kernel_families() {
  static const KernelFamily* const all[] = {&decode_family(), &prefill_family(), &reference_family(),
                                            &cpu_decode_family(), &cpu_prefill_family()};
  return all;
}

Result<const KernelFamily*> find_family(std::string_view name) {
  std::string known;
  const auto all = kernel_families();
  for (size_t i = 0; i < all.size(); ++i) {
    if (name == all[i]->name()) return all[i];
    known += fmt::format("{}{}", i == 0 ? "" : i + 1 == all.size() ? " or " : ", ", all[i]->name());
  }
  return invalid_argument("unknown kernel family '{}' (expected {})", name, known);
}

const KernelFamily& family_for(Phase phase, Target target) {
  for (const KernelFamily* f : kernel_families()) {
    if (f->phase() == phase && f->target() == target) return *f;
  }
  // Every phase has a family in the registry (tests/codegen checks it).
  return *kernel_families().front();
}

AttentionProblem KernelFamily::launch_problem(const AttentionProblem& problem, const GqaParams&) const {
  return problem;
}

Result<KernelConfig> KernelFamily::resolve(const AttentionProblem&, const KernelConfig& config,
                                           const DeviceLimits&) const {
  return config;
}

Result<KernelConfig> KernelFamily::configure(const AttentionProblem& problem, const std::string& text,
                                             const DeviceLimits& limits) const {
  GQF_ASSIGN_OR_RETURN(KernelConfig config, parse(text, default_config(problem, limits)));
  GQF_RETURN_IF_ERROR(validate(problem, config, limits));
  return config;
}

LaunchShape launch_shape(const char* entry, const unsigned* grid, const unsigned* block, int shared_bytes) {
  LaunchShape s;
  s.entry = entry;
  for (int i = 0; i < 3; ++i) {
    s.grid[i] = grid[i];
    s.block[i] = block[i];
  }
  s.dynamic_shared_bytes = shared_bytes;
  return s;
}

}  // namespace gqaforge::codegen
