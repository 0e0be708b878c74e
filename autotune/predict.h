// A cheap roofline/occupancy prediction of a kernel config's time per call, from the problem's
// bytes and FLOPs, the CTAs of the launch against the SMs, the CTAs per SM that shared memory,
// threads and registers allow, and the bytes the cp.async pipeline keeps in flight. The guided
// searcher ranks configs by it; it only has to order configs roughly, never to be exact. Each
// family's model lives with its search space (autotune/<family>_tuning.cpp).
#pragma once

#include "codegen/device_limits.h"
#include "codegen/family.h"
#include "codegen/problem.h"

namespace gqaforge::autotune {

/// Roofline numbers of the target (H200 by default, docs/h200.md).
struct Roofline {
  double dram_bytes_per_s = 4.58e12;     // best decode K/V read seen
  double mma_flops_per_s = 790e12;       // bf16 tensor cores, dense GEMM
  double fma_flops_per_s = 60e12;        // fp32 CUDA cores (2 FLOPs per FMA)
  double launch_us = 2.5;                // launch + tail of a kernel
  double bytes_in_flight_per_sm = 40e3;  // Little's law: bandwidth x latency / SMs
};

/// Predicted microseconds per call of `config` of `family`; +infinity when it cannot launch or
/// the family has nothing to tune.
double predict_us(const codegen::AttentionProblem& problem, const codegen::KernelFamily& family,
                  const codegen::KernelConfig& config, const codegen::DeviceLimits& limits, const Roofline& roof = {});

}  // namespace gqaforge::autotune
