// DeviceInfo: what the driver reports about a GPU, and the DeviceLimits derived from it.
#pragma once

#include <string>
#include <vector>

#include "records/records.h"
#include "codegen/device_limits.h"
#include "core/status.h"

namespace gqaforge::runtime {

struct DeviceInfo {
  int ordinal = 0;
  std::string name;  // "NVIDIA H200"
  std::string uuid;  // "GPU-xxxxxxxx-..."
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  int max_threads_per_block = 0;
  int max_threads_per_sm = 0;
  int shared_per_block_optin = 0;  // bytes
  int shared_per_sm = 0;           // bytes
  int registers_per_block = 0;
  int registers_per_sm = 0;
  int l2_bytes = 0;
  size_t memory_bytes = 0;
  int sm_clock_mhz = 0;   // max
  int mem_clock_mhz = 0;  // max
  int mem_bus_bits = 0;
  int driver_version = 0;     // e.g. 13000
  std::string nvrtc_version;  // "13.0"

  /// "sm_90a" on Hopper (arch-specific features), "sm_XY" elsewhere.
  std::string default_arch() const;
  codegen::DeviceLimits limits() const;
  /// Provenance record for measurements taken on this device.
  Environment environment() const;
  /// Datasheet-style peak DRAM bandwidth from clock and bus width, bytes/s.
  double peak_dram_bytes_per_s() const;
};

/// Queries every visible device (empty with an ok status when there are none).
Result<std::vector<DeviceInfo>> query_devices();
Result<DeviceInfo> query_device(int ordinal);

}  // namespace gqaforge::runtime
