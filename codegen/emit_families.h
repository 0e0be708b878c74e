// Emitters of the tunable kernel families: problem traits + the family's config traits above
// the family's kernel template.
#pragma once

#include "codegen/decode_config.h"
#include "codegen/prefill_config.h"
#include "codegen/problem.h"
#include "codegen/source.h"

namespace gqaforge {

KernelSource emit_decode(const AttentionProblem& problem, const DecodeConfig& config);
KernelSource emit_prefill(const AttentionProblem& problem, const PrefillConfig& config);

}  // namespace gqaforge
