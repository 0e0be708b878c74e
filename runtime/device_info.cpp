// Device queries through the driver API.
#include "runtime/device_info.h"

#include "codegen/source.h"
#include "core/build_info.h"
#include "core/sha256.h"
#include "runtime/cuda_driver.h"
#include "runtime/nvrtc_compiler.h"

namespace gqaforge::runtime {

std::string DeviceInfo::default_arch() const {
  std::string arch = fmt::format("sm_{}{}", cc_major, cc_minor);
  if (cc_major == 9 && cc_minor == 0) arch += "a";
  return arch;
}

codegen::DeviceLimits DeviceInfo::limits() const {
  codegen::DeviceLimits l;
  l.cc_major = cc_major;
  l.cc_minor = cc_minor;
  l.sm_count = sm_count;
  l.max_threads_per_block = max_threads_per_block;
  l.max_shared_per_block_optin = shared_per_block_optin;
  l.max_shared_per_sm = shared_per_sm;
  l.max_registers_per_block = registers_per_block;
  l.max_registers_per_sm = registers_per_sm;
  l.max_threads_per_sm = max_threads_per_sm;
  l.l2_bytes = l2_bytes;
  l.has_wgmma = default_arch() == "sm_90a";  // the compile target the runtime uses
  return l;
}

double DeviceInfo::peak_dram_bytes_per_s() const {
  // Double data rate: two transfers per clock.
  return 2.0 * mem_clock_mhz * 1e6 * mem_bus_bits / 8.0;
}

Environment DeviceInfo::environment() const {
  Environment e;
  e.gpu_name = name;
  e.gpu_uuid = uuid;
  e.sm_count = sm_count;
  e.cc_major = cc_major;
  e.cc_minor = cc_minor;
  e.sm_clock_mhz = sm_clock_mhz;
  e.mem_clock_mhz = mem_clock_mhz;
  e.memory_bytes = static_cast<int64_t>(memory_bytes);
  e.driver_version = driver_version;
  e.nvrtc_version = nvrtc_version;
  e.codegen_version = codegen::kCodegenVersion;
  e.codegen_hash = codegen::codegen_fingerprint();
  e.gqaforge_commit = gqaforge_git_commit();
  e.build_type = gqaforge_build_type();
  e.host = host_name();
  return e;
}

Result<DeviceInfo> query_device(int ordinal) {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  DeviceInfo d;
  d.ordinal = ordinal;
  CUdevice dev;
  GQF_CU_CHECK(api, cuDeviceGet(&dev, ordinal));
  char name[256] = {0};
  GQF_CU_CHECK(api, cuDeviceGetName(name, sizeof(name) - 1, dev));
  d.name = name;
  CUuuid uuid;
  GQF_CU_CHECK(api, cuDeviceGetUuid(&uuid, dev));
  std::string hex = to_hex(reinterpret_cast<const uint8_t*>(uuid.bytes), 16);
  d.uuid = fmt::format("GPU-{}-{}-{}-{}-{}", hex.substr(0, 8), hex.substr(8, 4), hex.substr(12, 4), hex.substr(16, 4),
                       hex.substr(20));
  auto attr = [&](CUdevice_attribute a, int* out) -> Status {
    GQF_CU_CHECK(api, cuDeviceGetAttribute(out, a, dev));
    return ok_status();
  };
  GQF_RETURN_IF_ERROR(attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, &d.cc_major));
  GQF_RETURN_IF_ERROR(attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, &d.cc_minor));
  GQF_RETURN_IF_ERROR(attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, &d.sm_count));
  GQF_RETURN_IF_ERROR(attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK, &d.max_threads_per_block));
  GQF_RETURN_IF_ERROR(attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR, &d.max_threads_per_sm));
  GQF_RETURN_IF_ERROR(attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN, &d.shared_per_block_optin));
  GQF_RETURN_IF_ERROR(attr(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR, &d.shared_per_sm));
  GQF_RETURN_IF_ERROR(attr(CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_BLOCK, &d.registers_per_block));
  GQF_RETURN_IF_ERROR(attr(CU_DEVICE_ATTRIBUTE_MAX_REGISTERS_PER_MULTIPROCESSOR, &d.registers_per_sm));
  GQF_RETURN_IF_ERROR(attr(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE, &d.l2_bytes));
  int khz = 0;
  GQF_RETURN_IF_ERROR(attr(CU_DEVICE_ATTRIBUTE_CLOCK_RATE, &khz));
  d.sm_clock_mhz = khz / 1000;
  GQF_RETURN_IF_ERROR(attr(CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE, &khz));
  d.mem_clock_mhz = khz / 1000;
  GQF_RETURN_IF_ERROR(attr(CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, &d.mem_bus_bits));
  GQF_CU_CHECK(api, cuDeviceTotalMem_v2(&d.memory_bytes, dev));
  GQF_CU_CHECK(api, cuDriverGetVersion(&d.driver_version));
  d.nvrtc_version = nvrtc_version_string();
  return d;
}

Result<std::vector<DeviceInfo>> query_devices() {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  int count = 0;
  GQF_CU_CHECK(api, cuDeviceGetCount(&count));
  std::vector<DeviceInfo> out;
  for (int i = 0; i < count; ++i) {
    GQF_ASSIGN_OR_RETURN(DeviceInfo d, query_device(i));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace gqaforge::runtime
