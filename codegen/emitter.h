// The emitter: writes the thin generated prelude (traits struct + one instantiation) above the
// hand-written kernel templates of codegen/kernels/. Output is deterministic and golden-tested.
#pragma once

#include <string>

#include "codegen/problem.h"
#include "codegen/source.h"

namespace gqaforge::codegen {

/// Traits shared by every family: element type, head dim, group size, causal (+ q_len for
/// decode), written first in the traits struct.
void add_problem_traits(const AttentionProblem& problem, TraitsBuilder& traits);

/// Assembles a KernelSource from a family's traits: header comment, includes, traits struct,
/// `generated` (code the family header relies on, e.g. emitted wgmma products), family header,
/// entry-point macro.
KernelSource assemble_source(const std::string& family, const AttentionProblem& problem,
                             const std::string& config_canonical, const TraitsBuilder& traits,
                             const std::vector<std::string>& entry_points, const std::string& generated = "");

/// The GPU reference kernel for a problem (no tunable config; codegen/reference_family.cpp).
KernelSource emit_reference(const AttentionProblem& problem);

/// Device-side random fill of 16-bit tensors (benchmark inputs): gqaforge_fill_random.
KernelSource emit_fill(DType dtype);

}  // namespace gqaforge::codegen
