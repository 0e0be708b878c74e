// `gqaforge devices`: lists the visible GPUs and what gqaforge will target on each.
#include <cstdio>
#include <memory>

#include "runtime/device_info.h"
#include "runtime/nvrtc_compiler.h"
#include "tools/args.h"
#include "tools/commands.h"
#include "tools/json_output.h"

namespace gqaforge::tools {
namespace {

Json device_json(const runtime::DeviceInfo& d) {
  Json j = Json::object();
  j["ordinal"] = d.ordinal;
  j["name"] = d.name;
  j["uuid"] = d.uuid;
  j["compute_capability"] = fmt::format("{}.{}", d.cc_major, d.cc_minor);
  j["target"] = d.default_arch();
  j["sm_count"] = d.sm_count;
  j["sm_clock_mhz"] = d.sm_clock_mhz;
  j["memory_clock_mhz"] = d.mem_clock_mhz;
  j["memory_bus_bits"] = d.mem_bus_bits;
  j["memory_bytes"] = static_cast<double>(d.memory_bytes);
  j["peak_dram_bytes_per_s"] = d.peak_dram_bytes_per_s();
  j["l2_bytes"] = d.l2_bytes;
  j["shared_per_block_optin_bytes"] = d.shared_per_block_optin;
  j["shared_per_sm_bytes"] = d.shared_per_sm;
  j["registers_per_block"] = d.registers_per_block;
  j["registers_per_sm"] = d.registers_per_sm;
  j["max_threads_per_block"] = d.max_threads_per_block;
  j["max_threads_per_sm"] = d.max_threads_per_sm;
  j["driver_version"] = fmt::format("{}.{}", d.driver_version / 1000, (d.driver_version % 1000) / 10);
  return j;
}

int run_devices(bool json) {
  auto devices = runtime::query_devices();
  if (json) {
    Json doc = json_document("devices");
    doc["nvrtc"] = runtime::nvrtc_version_string();
    Json archs = Json::array();
    for (int a : runtime::nvrtc_supported_archs()) archs.push_back(fmt::format("sm_{}", a));
    doc["nvrtc_targets"] = archs;
    doc["driver_error"] = devices.ok() ? Json() : Json(devices.status().message());
    Json list = Json::array();
    if (devices.ok()) {
      for (const runtime::DeviceInfo& d : *devices) list.push_back(device_json(d));
    }
    doc["devices"] = list;
    print_json(doc);
    return 0;
  }
  std::printf("nvrtc %s\n", runtime::nvrtc_version_string().c_str());
  if (!devices.ok()) {
    std::printf("no GPU: %s\n", devices.status().message().c_str());
    return 0;
  }
  if (devices->empty()) std::printf("no CUDA devices\n");
  for (const runtime::DeviceInfo& d : *devices) {
    std::printf("device %d: %s (%s)\n", d.ordinal, d.name.c_str(), d.uuid.c_str());
    std::printf("  compute capability %d.%d, target %s, %d SMs, %d MHz SM / %d MHz memory, %d-bit bus\n", d.cc_major,
                d.cc_minor, d.default_arch().c_str(), d.sm_count, d.sm_clock_mhz, d.mem_clock_mhz, d.mem_bus_bits);
    std::printf("  memory %.1f GiB, L2 %d MiB, shared memory %d KiB/CTA (opt-in), %d KiB/SM\n",
                static_cast<double>(d.memory_bytes) / (1 << 30), d.l2_bytes >> 20, d.shared_per_block_optin >> 10,
                d.shared_per_sm >> 10);
    std::printf("  registers %d/CTA, %d/SM; threads %d/CTA, %d/SM; driver %d.%d\n", d.registers_per_block,
                d.registers_per_sm, d.max_threads_per_block, d.max_threads_per_sm, d.driver_version / 1000,
                (d.driver_version % 1000) / 10);
  }
  return 0;
}

CommandAction declare_devices(CLI::App& app) {
  app.description("Lists the CUDA devices, their limits, and the NVRTC and driver versions.");
  auto json = std::make_shared<bool>(false);
  add_switch(app, "--json", *json, "print the result as JSON (docs/json-output.md)");
  return [json](const Args&) { return run_devices(*json); };
}

}  // namespace
GQF_REGISTER_COMMAND("devices", "list GPUs, limits, driver and NVRTC versions", 10, declare_devices);
}  // namespace gqaforge::tools
