// DeviceLimits: the per-device numbers a kernel config is validated against before compiling.
// Filled from the driver on a real device, or from a table for a named target without one.
#pragma once

#include <string>

#include "core/status.h"

namespace gqaforge::codegen {

struct DeviceLimits {
  int cc_major = 9;  // compute capability
  int cc_minor = 0;
  int sm_count = 132;  // streaming multiprocessors
  int max_threads_per_block = 1024;
  int max_shared_per_block_optin = 232448;  // bytes of dynamic shared memory a CTA may opt into
  int max_shared_per_sm = 233472;           // bytes
  int max_registers_per_block = 65536;
  int max_registers_per_sm = 65536;
  int max_threads_per_sm = 2048;
  int l2_bytes = 60 * 1024 * 1024;
  bool has_wgmma = true;  // Hopper warpgroup mma (compute capability 9.0, built for sm_90a)
  // CPU backend only (0 on a GPU): hardware threads, and fp32 lanes of the widest vector the
  // host runs (16 with AVX-512, 8 with AVX2, 4 with SSE/NEON).
  int cpu_threads = 0;
  int cpu_vector_floats = 0;

  /// Limits of a target without a device: "sm_90a", "sm_90", "sm_80", "sm_86", "sm_89".
  static Result<DeviceLimits> for_arch(const std::string& arch);
};

/// Validates an arch string ("sm_90a", "sm_80", ...) and returns it normalised.
Result<std::string> normalize_arch(const std::string& arch);

}  // namespace gqaforge::codegen
