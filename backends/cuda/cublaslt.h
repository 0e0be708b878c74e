// bf16 GEMM timing with cuBLASLt, for the linear layers of the cost model's latency objective.
// libcublasLt.so.13 is loaded at run time (dlopen), never linked, so gqaforge runs where it is
// absent; only the few entry points used are looked up (types come from cublasLt.h).
#pragma once

#include <cstdint>
#include <memory>

#include "backends/cuda/timing.h"

namespace gqaforge::backends::cuda {

class CublasLt {
 public:
  /// Loads libcublasLt.so.13 and creates a handle; unavailable with a clear message if absent.
  static Result<std::unique_ptr<CublasLt>> load();
  ~CublasLt();
  CublasLt(const CublasLt&) = delete;
  CublasLt& operator=(const CublasLt&) = delete;

  /// Times Y[m, n] = X[m, k] * W[n, k]^T (bf16 in and out, fp32 accumulate; PyTorch's linear
  /// layout) with the heuristic's first algorithm, rotating operands past `l2_bytes` of L2.
  /// `fill(buffer, seed)` writes random values into a bf16 buffer.
  Result<TimingStats> time_gemm(int64_t m, int64_t n, int64_t k, int64_t l2_bytes, CUstream stream,
                                const std::function<Status(runtime::DeviceBuffer&, uint64_t)>& fill,
                                const TimingOptions& timing = {});

  struct Api;

 private:
  CublasLt() = default;
  void* lib_ = nullptr;
  std::unique_ptr<Api> api_;
  void* handle_ = nullptr;
};

}  // namespace gqaforge::backends::cuda
