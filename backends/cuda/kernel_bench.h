// Measurement of one attention kernel on the GPU, shared by `gqaforge bench` and the CUDA tune
// backend: the correctness gate (check_op on fresh seeded inputs, on a shape small enough for
// the oracle, with the same launch pinned), then inputs filled on the device with random values
// and rotated through enough copies to exceed the L2 cache, timed with time_calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backends/cuda/timing.h"
#include "runtime/attention_op.h"
#include "runtime/checker.h"
#include "runtime/device_attention.h"
#include "runtime/device_info.h"

namespace gqaforge::backends::cuda {

struct BenchOutcome {
  std::string config;        // canonical config launched (decode: split count pinned)
  bool gate_passed = false;  // when false nothing was timed
  runtime::CheckReport gate;
  uint64_t seed = 0;  // gate inputs
  TimingStats timing;
  double tbps = 0;  // K+V bytes read per second / 1e12 (decode)
  double tflops = 0;
};

class KernelBench {
 public:
  /// `kv_head_major` stores K/V as [batch, n_kv, kv_len, head_dim] (the peers' layout in
  /// bench/peers.py) instead of [batch, kv_len, n_kv, head_dim], for the gate and the timing.
  KernelBench(runtime::DeviceInfo info, runtime::Jit* jit, CUstream stream, bool kv_head_major = false)
      : info_(std::move(info)), jit_(jit), stream_(stream), kv_head_major_(kv_head_major) {}

  /// Gate, then (only if it passed) timing, of `op` on its problem. Errors are invalid
  /// configs, compile errors and driver failures (launch faults included).
  Result<BenchOutcome> run(runtime::AttentionOp& op, uint64_t seed, const TimingOptions& timing = {});

  /// Fills a 16-bit device buffer with seeded random values (gqaforge_fill_random).
  Status fill(runtime::DeviceBuffer& buf, uint64_t seed, codegen::DType dtype);

  const runtime::DeviceInfo& info() const { return info_; }

 private:
  /// Rotating input sets for `problem`; kept while consecutive calls measure the same problem.
  Result<std::vector<runtime::DeviceAttention>*> inputs(const codegen::AttentionProblem& problem);

  runtime::DeviceInfo info_;
  runtime::Jit* jit_;
  CUstream stream_;
  bool kv_head_major_;
  std::string inputs_key_;
  std::vector<runtime::DeviceAttention> inputs_;
};

}  // namespace gqaforge::backends::cuda
