// The problem flags every kernel subcommand shares: --phase --heads --head-dim --dtype
// --causal --batch --q-len --kv-len --config --arch.
#pragma once

#include "codegen/problem.h"
#include "tools/args.h"

namespace gqaforge::cli {

void add_problem_flags(ArgParser& p);
/// Builds and validates the problem; errors name the bad flag value.
Result<AttentionProblem> problem_from_flags(const ArgParser& p);

}  // namespace gqaforge::cli
