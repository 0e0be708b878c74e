// The tune loop's view of a machine that compiles and measures kernels. The CUDA backend
// (cuda_backend.h, NVRTC + driver API) is the real one; the synthetic backend
// (synthetic_backend.h) is deterministic and runs anywhere (tests, CPU demos); the worker
// backend (worker_backend.h) forwards measurements to a child process for fault isolation.
// Nothing here knows CUDA.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "records/records.h"
#include "codegen/device_limits.h"
#include "codegen/family.h"
#include "codegen/problem.h"
#include "core/status.h"

namespace gqaforge::autotune {

/// One kernel variant to compile and measure.
struct Candidate {
  codegen::AttentionProblem problem;
  const codegen::KernelFamily* family = nullptr;
  codegen::KernelConfig config;
  std::string kernel_key;  // Backend::kernel_key of the three above

  /// The config's canonical text: the form in rows, keys and messages.
  std::string config_text() const { return family->canonical(config); }
};

/// What compiling one candidate gave.
struct CompileResult {
  MeasureStatus status = MeasureStatus::kOk;  // ok | compile_failed | timeout
  std::string message;
  double compile_ms = 0;
  bool cache_hit = false;
  int registers = 0;     // per thread, the main entry point
  int shared_bytes = 0;  // static shared memory per CTA (dynamic is added by the caller)
  int spill_bytes = 0;   // spill stores + loads
};

/// How to measure.
struct MeasureOptions {
  uint64_t seed = 1;      // correctness-gate inputs
  int repetitions = 0;    // timed repetitions; 0 = the timing protocol's default
  double min_rep_ms = 0;  // minimum repetition length; 0 = default
};

/// What measuring one candidate gave: the gate first, timing only when it passed.
struct MeasureResult {
  MeasureStatus status = MeasureStatus::kOk;  // ok | wrong_result | launch_failed | timeout
  std::string message;
  double median_us = 0;
  double min_us = 0;
  double stddev_us = 0;
  int repetitions = 0;
  double max_error = 0;
  double error_bound = 0;
  // The try was abandoned because the process is being interrupted (SIGINT/SIGTERM): it says
  // nothing about the variant and is not recorded, so a resumed sweep measures it again.
  bool interrupted = false;
};

/// The device a backend measures on.
struct BackendInfo {
  Environment environment;
  codegen::DeviceLimits limits;
  std::string arch;  // compile target, "sm_90a"
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  /// What the backend runs kernels on: it measures that target's families (codegen::family_for).
  virtual codegen::Target target() const { return codegen::Target::kCuda; }
  /// Environment and limits of the device (starts what must be started).
  virtual Result<BackendInfo> info() = 0;
  /// The database key of a variant: sha256 over the canonical compile input (source, options,
  /// NVRTC and codegen versions, target) and the config (run-time fields included).
  virtual Result<std::string> kernel_key(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
                                         const codegen::KernelConfig& config) = 0;
  /// Compiles a batch in parallel; the i-th result belongs to the i-th candidate.
  virtual std::vector<CompileResult> compile(const std::vector<Candidate>& candidates) = 0;
  /// Correctness gate on fresh seeded inputs, then timing. Never throws; every failure is a
  /// status.
  virtual MeasureResult measure(const Candidate& candidate, const MeasureOptions& options) = 0;
  /// Times a bf16 GEMM Y[m, n] = X[m, k] W[n, k]^T, the linear layers' work (linear_tuner.h).
  /// A backend without a GEMM library says so in a launch_failed result.
  virtual MeasureResult measure_gemm(int64_t m, int64_t n, int64_t k, const MeasureOptions& options) {
    (void)m, (void)n, (void)k, (void)options;
    MeasureResult r;
    r.status = MeasureStatus::kLaunchFailed;
    r.message = fmt::format("the {} backend does not time GEMMs", name());
    return r;
  }
  /// False once the device context is unusable (after a fault); the worker then exits so
  /// that its parent starts a fresh one.
  virtual bool healthy() const { return true; }
};

/// Parses a status name into a MeasureStatus, invalid_argument naming it otherwise.
Result<MeasureStatus> status_from_name(const std::string& name);

}  // namespace gqaforge::autotune
