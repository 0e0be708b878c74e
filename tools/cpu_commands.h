// `check` and `bench` with --backend cpu: the same gate and the same report lines, with kernels
// from the CPU module (backends/cpu/) on the host's cores.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "codegen/problem.h"

namespace gqaforge::tools {

/// The CPU benchmark grids (bench/RESULTS.md): the recipe's head configurations at 4K-32K keys
/// (decode) and 1K-4K tokens (prefill), sized for a host rather than a GPU.
std::vector<codegen::AttentionProblem> cpu_decode_suite();
std::vector<codegen::AttentionProblem> cpu_prefill_suite();

/// A CPU kernel's rate as every CPU table prints it: GB/s (K+V read) when `bytes`, else GFLOP/s;
/// the arguments in the records' units (TB/s, TFLOP/s).
std::string cpu_rate_text(bool bytes, double tbps, double tflops);

/// check --backend cpu: the problem's CPU kernel (or `family`'s) against the fp64 oracle.
int run_check_cpu(const codegen::AttentionProblem& problem, const std::string& family, const std::string& config,
                  uint64_t seed, const std::vector<int>& kv_lens);

/// emit --backend cpu: the problem's CPU kernel as LLVM IR (after the host's -O3 pipeline when
/// `optimized`).
int run_emit_cpu(const codegen::AttentionProblem& problem, const std::string& family, const std::string& config,
                 bool optimized);

/// bench --backend cpu: per problem, the gate (on the gate's shape), then the timing; rows as
/// for the GPU (GB/s of K+V read, GFLOP/s), and the same CSV columns.
int run_bench_cpu(const std::vector<codegen::AttentionProblem>& problems, const std::string& config,
                  const std::optional<std::string>& csv_path, bool wide);

}  // namespace gqaforge::tools
