// The CPU backend: the tuner's Backend (autotune/backend.h) for the host CPU, and the measurement
// `gqaforge check` and `bench` use with --backend cpu. Kernels come from the CPU module
// (cpu_loader.h); each variant is gated against the same fp64 oracle as the GPU kernels (on the
// gate's shape, runtime::gate_problem) before it is timed on the full problem, with inputs
// rotated through enough copies to leave the last-level cache.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "autotune/backend.h"
#include "backends/cpu/cpu_runner.h"
#include "runtime/host_attention.h"

namespace gqaforge::cpu {

/// The CPU kernel spec of a CPU family's config; invalid_argument for another family's.
Result<codegen::CpuKernelSpec> cpu_spec(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
                                        const codegen::KernelConfig& config);

struct CpuCheck {
  runtime::CheckReport report;
  uint64_t seed = 0;
  std::string config;  // canonical, as launched (num_splits resolved)
};

struct CpuTiming {
  double median_us = 0, min_us = 0, stddev_us = 0;
  int repetitions = 0;
  int copies = 1;  // input sets rotated through
};

/// Compiles, gates and times CPU kernels. One per process is enough (it keeps the worker pool).
class CpuKernels {
 public:
  /// Loads the CPU module; `cache_dir` empty = the compile cache's default directory.
  static Result<std::unique_ptr<CpuKernels>> open(const std::string& cache_dir = "");

  const HostCpu& host() const { return jit_->host(); }
  const codegen::DeviceLimits& limits() const { return limits_; }
  const std::string& cache_dir() const { return cache_dir_; }

  Result<CompiledCpuKernel> compile(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
                                    const codegen::KernelConfig& config);
  /// Runs the kernel on host tensors (layout of `params`), as a call would.
  Status run(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
             const codegen::KernelConfig& config, const GqaParams& params);
  /// Runs a compiled kernel for `plan` (its launch plan at the call's dims), one call at a time:
  /// the C API's plans share the worker pool. `workspace` as for CpuRunner::run.
  Status run_compiled(CpuKernelFn fn, const codegen::AttentionProblem& problem, const codegen::LaunchPlan& plan,
                      const GqaParams& params, void* workspace);
  /// The gate: fresh seeded inputs for `problem` (with per-sequence lengths or the packed varlen
  /// layout when given), poisoned outputs, the oracle.
  Result<CpuCheck> check(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
                         const codegen::KernelConfig& config, uint64_t seed, std::vector<int> kv_lens = {},
                         std::vector<int> q_lens = {}, bool varlen = false);
  /// Times calls on the full problem (median of `repetitions`, 0 = default), K/V stored
  /// [batch, kv_len, n_kv, head_dim], or [batch, n_kv, kv_len, head_dim] with `kv_head_major`
  /// (the peers' layout in bench/cpu_peers.py).
  Result<CpuTiming> time(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
                         const codegen::KernelConfig& config, int repetitions = 0, bool kv_head_major = false);

 private:
  CpuJit* jit_ = nullptr;
  codegen::DeviceLimits limits_;
  std::string cache_dir_;
  std::mutex mutex_;  // one call at a time through runner_
  CpuRunner runner_;
};

class CpuBackend final : public autotune::Backend {
 public:
  explicit CpuBackend(std::string cache_dir = "") : cache_dir_(std::move(cache_dir)) {}
  std::string name() const override { return "cpu"; }
  codegen::Target target() const override { return codegen::Target::kCpu; }
  Result<autotune::BackendInfo> info() override;
  Result<std::string> kernel_key(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
                                 const codegen::KernelConfig& config) override;
  std::vector<autotune::CompileResult> compile(const std::vector<autotune::Candidate>& candidates) override;
  autotune::MeasureResult measure(const autotune::Candidate& candidate,
                                  const autotune::MeasureOptions& options) override;

 private:
  Status ensure_open();

  std::string cache_dir_;
  std::unique_ptr<CpuKernels> kernels_;
};

}  // namespace gqaforge::cpu
