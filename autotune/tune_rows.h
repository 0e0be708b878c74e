// The database form of what the tuner measures: a problem as a ProblemRecord, and the
// throughput a row derives from its time.
#pragma once

#include "codegen/family.h"
#include "codegen/problem.h"
#include "records/records.h"

namespace gqaforge::autotune {

/// The database form of a problem: family = the target's family of its phase ("decode" on CUDA,
/// "cpu_decode" on the CPU).
ProblemRecord to_problem_record(const codegen::AttentionProblem& problem,
                                codegen::Target target = codegen::Target::kCuda);
/// Derived throughput of a time: TB/s of K+V read (decode) and TFLOP/s (both).
void fill_throughput(const codegen::AttentionProblem& problem, MeasurementRecord& row);

}  // namespace gqaforge::autotune
