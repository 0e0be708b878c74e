// The CUDA backend: NVRTC through the compile cache on a thread pool (with a per-compile
// timeout), resources from ptxas, and measurement through KernelBench (correctness gate, then
// time_calls over inputs rotated past L2) in the current process. It runs inside the tune
// worker for measurements; the tuning parent uses a compile-only instance (no GPU context).
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>

#include "autotune/backend.h"
#include "backends/cuda/kernel_bench.h"
#include "core/thread_pool.h"

namespace gqaforge::backends::cuda {

class CublasLt;

struct CudaBackendOptions {
  int device = 0;
  unsigned compile_threads = 0;     // 0 = all cores
  double compile_timeout_s = 300;   // per kernel; a compile still running then is a timeout
  std::filesystem::path cache_dir;  // empty = the default compile cache directory
};

class CudaBackend final : public autotune::Backend {
 public:
  /// A backend that compiles and measures on device `options.device` (creates its context).
  static Result<std::unique_ptr<CudaBackend>> open(const CudaBackendOptions& options);
  /// A backend that only compiles, for the device `info` describes (no GPU needed).
  static Result<std::unique_ptr<CudaBackend>> compile_only(const autotune::BackendInfo& info,
                                                           const CudaBackendOptions& options);
  ~CudaBackend() override;

  std::string name() const override { return "cuda"; }
  Result<autotune::BackendInfo> info() override { return info_; }
  Result<std::string> kernel_key(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
                                 const codegen::KernelConfig& config) override;
  std::vector<autotune::CompileResult> compile(const std::vector<autotune::Candidate>& candidates) override;
  autotune::MeasureResult measure(const autotune::Candidate& candidate,
                                  const autotune::MeasureOptions& options) override;
  bool healthy() const override { return healthy_; }

  /// With cuBLASLt (loaded on first use).
  autotune::MeasureResult measure_gemm(int64_t m, int64_t n, int64_t k,
                                       const autotune::MeasureOptions& options) override;

 private:
  explicit CudaBackend(const CudaBackendOptions& options);
  /// After a failed launch: is the context still usable?
  void check_context();

  CudaBackendOptions options_;
  autotune::BackendInfo info_;
  runtime::CompileOptions compile_options_;
  std::unique_ptr<runtime::CompileCache> cache_;
  std::unique_ptr<ThreadPool> pool_;
  std::atomic<bool> hung_compile_{false};
  // Measuring (absent in compile-only instances).
  std::unique_ptr<runtime::Context> context_;
  std::unique_ptr<runtime::Stream> stream_;
  std::unique_ptr<runtime::Jit> jit_;
  std::unique_ptr<KernelBench> bench_;
  std::unique_ptr<CublasLt> cublaslt_;
  bool healthy_ = true;
};

}  // namespace gqaforge::backends::cuda
