// Emitters of the tunable kernel families: problem traits + the family's config traits (from
// its field table) above the family's kernel template. Defined in codegen/<family>_family.cpp;
// code that does not know the family calls KernelFamily::emit (codegen/family.h).
#pragma once

#include "codegen/decode_config.h"
#include "codegen/prefill_config.h"
#include "codegen/problem.h"
#include "codegen/source.h"

namespace gqaforge::codegen {

KernelSource emit_decode(const AttentionProblem& problem, const DecodeConfig& config);
KernelSource emit_prefill(const AttentionProblem& problem, const PrefillConfig& config);

}  // namespace gqaforge::codegen
