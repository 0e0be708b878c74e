// `gqaforge devices`: lists the visible GPUs and what gqaforge will target on each.
#include <cstdio>

#include "runtime/device_info.h"
#include "runtime/nvrtc_compiler.h"
#include "tools/args.h"
#include "tools/commands.h"

namespace gqaforge::cli {
namespace {

int run_devices(const Args& args) {
  ArgParser p("gqaforge devices", "Lists the CUDA devices, their limits, and the NVRTC and driver versions.");
  if (int rc = p.parse(args); rc >= 0) return rc;
  std::printf("nvrtc %s\n", rt::nvrtc_version_string().c_str());
  auto devices = rt::query_devices();
  if (!devices.ok()) {
    std::printf("no GPU: %s\n", devices.status().message().c_str());
    return 0;
  }
  if (devices->empty()) std::printf("no CUDA devices\n");
  for (const rt::DeviceInfo& d : *devices) {
    std::printf("device %d: %s (%s)\n", d.ordinal, d.name.c_str(), d.uuid.c_str());
    std::printf("  compute capability %d.%d, target %s, %d SMs, %d MHz SM / %d MHz memory, %d-bit bus\n",
                d.cc_major, d.cc_minor, d.default_arch().c_str(), d.sm_count, d.sm_clock_mhz, d.mem_clock_mhz,
                d.mem_bus_bits);
    std::printf("  memory %.1f GiB, L2 %d MiB, shared memory %d KiB/CTA (opt-in), %d KiB/SM\n",
                static_cast<double>(d.memory_bytes) / (1 << 30), d.l2_bytes >> 20, d.shared_per_block_optin >> 10,
                d.shared_per_sm >> 10);
    std::printf("  registers %d/CTA, %d/SM; threads %d/CTA, %d/SM; driver %d.%d\n", d.registers_per_block,
                d.registers_per_sm, d.max_threads_per_block, d.max_threads_per_sm, d.driver_version / 1000,
                (d.driver_version % 1000) / 10);
  }
  return 0;
}

}  // namespace
GQF_REGISTER_COMMAND("devices", "list GPUs, limits, driver and NVRTC versions", 10, run_devices);
}  // namespace gqaforge::cli
