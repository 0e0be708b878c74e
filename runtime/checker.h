// The correctness gate: runs an AttentionOp on fresh random inputs (seeded, poisoned outputs)
// and compares O and LSE against the CPU fp64 oracle, or, for shapes too large for the CPU,
// against the GPU reference kernel (itself checked against the oracle in the test suite).
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/attention_op.h"
#include "runtime/host_attention.h"

namespace gqaforge::runtime {

struct CheckOptions {
  uint64_t seed = 1;
  bool with_lse = true;
  std::vector<int> kv_lens;     // per sequence; empty = problem.kv_len for all
  std::vector<int> q_lens;      // per sequence (varlen prefill); empty = problem.q_len for all
  bool varlen = false;          // packed prefill layout with cu_seqlens
  bool kv_head_major = false;   // K/V stored [batch, n_kv, kv_len, head_dim]
  double cpu_work_limit = 3e9;  // multiply-adds above which the GPU reference is the oracle
};

struct CheckResult {
  CheckReport report;
  bool gpu_oracle = false;  // compared against the GPU reference rather than the CPU oracle
};

/// Runs `op` on fresh inputs and checks it.
Result<CheckResult> check_op(Jit& jit, AttentionOp& op, const CheckOptions& options, CUstream stream);

/// Enqueues the kernel under test on `stream` for the tensors `params` describes.
using Launcher = std::function<Status(const GqaParams& params, CUstream stream)>;
/// The same gate over any launcher (the C API's plans); `jit` serves the GPU reference.
Result<CheckResult> check_launch(Jit& jit, const codegen::AttentionProblem& problem, const Launcher& launch,
                                 const CheckOptions& options, CUstream stream);

}  // namespace gqaforge::runtime
