// Occupancy from per-CTA resources and device limits.
#include "codegen/occupancy.h"

#include <algorithm>

namespace gqaforge::codegen {

int max_resident_ctas_per_sm(const DeviceLimits& l) {
  const int cc = l.cc_major * 10 + l.cc_minor;
  if (cc == 86 || cc == 87) return 16;
  if (cc == 89) return 24;
  return 32;
}

Occupancy compute_occupancy(const DeviceLimits& l, int threads, int registers, int shared_bytes) {
  Occupancy o;
  if (threads <= 0 || threads > l.max_threads_per_block) {
    o.limiter = "more threads than a CTA may have";
    return o;
  }
  const int warps = (threads + 31) / 32;
  o.by_threads = l.max_threads_per_sm / threads;
  o.by_slots = max_resident_ctas_per_sm(l);
  // Registers: allocated per warp in units of 256.
  const int regs = std::max(registers, 1);
  const int per_warp = (regs * 32 + 255) / 256 * 256;
  if (per_warp * warps > l.max_registers_per_block) {
    o.limiter = "more registers than a CTA may have";
    return o;
  }
  o.by_registers = l.max_registers_per_sm / per_warp / warps;
  // Shared memory: 1 KB of it is reserved for every resident CTA (sm_80 and newer).
  if (shared_bytes > l.max_shared_per_block_optin) {
    o.limiter = "more shared memory than a CTA may have";
    return o;
  }
  const int reserved = l.cc_major >= 8 ? 1024 : 0;
  o.by_shared = l.max_shared_per_sm / (shared_bytes + reserved);
  o.ctas_per_sm = std::min({o.by_threads, o.by_registers, o.by_shared, o.by_slots});
  if (o.ctas_per_sm == o.by_registers)
    o.limiter = "registers";
  else if (o.ctas_per_sm == o.by_shared)
    o.limiter = "shared memory";
  else if (o.ctas_per_sm == o.by_threads)
    o.limiter = "threads";
  else
    o.limiter = "CTA slots";
  return o;
}

}  // namespace gqaforge::codegen
