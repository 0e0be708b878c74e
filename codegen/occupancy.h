// Occupancy: how many CTAs of a kernel one SM holds at once, from its threads, registers and
// shared memory per CTA and the device's limits (the CUDA occupancy calculator's rules:
// registers allocated per warp in units of 256, 1 KB of shared memory reserved per CTA on
// sm_80 and newer, a hardware cap on resident CTAs). What `gqaforge compile` prints.
#pragma once

#include <string>

#include "codegen/device_limits.h"

namespace gqaforge::codegen {

struct Occupancy {
  int ctas_per_sm = 0;   // the minimum of the four limits below (0: the CTA cannot launch)
  int by_threads = 0;    // max_threads_per_sm / threads
  int by_registers = 0;  // register file / registers of one CTA
  int by_shared = 0;     // shared memory per SM / (shared memory of one CTA + 1 KB)
  int by_slots = 0;      // the hardware's resident-CTA limit
  std::string limiter;   // "threads", "registers", "shared memory", "CTA slots", or why it cannot launch
};

/// Resident CTAs per SM the hardware allows (32 on sm_80 and sm_90+, 16 on sm_86/87, 24 on sm_89).
int max_resident_ctas_per_sm(const DeviceLimits& limits);

/// Occupancy of a CTA of `threads` threads using `registers` per thread and `shared_bytes` of
/// shared memory (static + dynamic).
Occupancy compute_occupancy(const DeviceLimits& limits, int threads, int registers, int shared_bytes);

}  // namespace gqaforge::codegen
