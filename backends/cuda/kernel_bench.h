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

namespace gqaforge {

/// The gate's shape: the very kernel and config, batch <= 2, at most two KV heads, and lengths
/// small enough for the CPU oracle (or the GPU reference).
AttentionProblem gate_problem(const AttentionProblem& problem);

/// Default gate seed of a problem (printed with failures so that they can be replayed).
uint64_t gate_seed(const AttentionProblem& problem);

struct BenchOutcome {
  std::string config;        // canonical config launched (decode: split count pinned)
  bool gate_passed = false;  // when false nothing was timed
  rt::CheckReport gate;
  uint64_t seed = 0;  // gate inputs
  TimingStats timing;
  double tbps = 0;  // K+V bytes read per second / 1e12 (decode)
  double tflops = 0;
};

class KernelBench {
 public:
  /// `kv_head_major` stores K/V as [batch, n_kv, kv_len, head_dim] (the peers' layout in
  /// bench/peers.py) instead of [batch, kv_len, n_kv, head_dim], for the gate and the timing.
  KernelBench(rt::DeviceInfo info, rt::Jit* jit, CUstream stream, bool kv_head_major = false)
      : info_(std::move(info)), jit_(jit), stream_(stream), kv_head_major_(kv_head_major) {}

  /// Gate, then (only if it passed) timing, of `op` on its problem. Errors are invalid
  /// configs, compile errors and driver failures (launch faults included).
  Result<BenchOutcome> run(rt::AttentionOp& op, uint64_t seed, const TimingOptions& timing = {});

  /// Fills a 16-bit device buffer with seeded random values (gqaforge_fill_random).
  Status fill(rt::DeviceBuffer& buf, uint64_t seed, DType dtype);

  const rt::DeviceInfo& info() const { return info_; }

 private:
  /// Rotating input sets for `problem`; kept while consecutive calls measure the same problem.
  Result<std::vector<rt::DeviceAttention>*> inputs(const AttentionProblem& problem);

  rt::DeviceInfo info_;
  rt::Jit* jit_;
  CUstream stream_;
  bool kv_head_major_;
  std::string inputs_key_;
  std::vector<rt::DeviceAttention> inputs_;
};

}  // namespace gqaforge
