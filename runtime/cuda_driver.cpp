// Driver loader: dlopen + dlsym into DriverApi, once per process.
#include "runtime/cuda_driver.h"

#include <dlfcn.h>

#include <mutex>

namespace gqaforge::runtime {
namespace {

struct LoadedDriver {
  DriverApi api;
  Status status;
};

LoadedDriver load() {
  LoadedDriver out;
  void* handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    out.status = unavailable("no CUDA driver: cannot load libcuda.so.1 ({})", dlerror());
    return out;
  }
#define GQF_DRIVER_FN(name, ...)                                                            \
  out.api.name = reinterpret_cast<decltype(out.api.name)>(dlsym(handle, #name));            \
  if (out.api.name == nullptr) {                                                            \
    out.status = unavailable("the CUDA driver lacks the entry point {} (too old?)", #name); \
    return out;                                                                             \
  }
#include "runtime/cuda_driver_fns.inc"
#undef GQF_DRIVER_FN
  CUresult r = out.api.cuInit(0);
  if (r != CUDA_SUCCESS) {
    const char* name = "?";
    out.api.cuGetErrorName(r, &name);
    out.status = unavailable("cuInit failed: {} (no usable GPU?)", name);
  }
  return out;
}

const LoadedDriver& loaded() {
  static LoadedDriver d = load();
  return d;
}

}  // namespace

Result<const DriverApi*> driver() {
  const LoadedDriver& d = loaded();
  if (!d.status.ok()) return d.status;
  return &d.api;
}

bool gpu_available() {
  auto api = driver();
  if (!api.ok()) return false;
  int count = 0;
  return (*api)->cuDeviceGetCount(&count) == CUDA_SUCCESS && count > 0;
}

std::string cu_error_text(CUresult result) {
  auto api = driver();
  const char* name = "CUDA_ERROR_UNKNOWN";
  const char* text = "unknown error";
  if (api.ok()) {
    (*api)->cuGetErrorName(result, &name);
    (*api)->cuGetErrorString(result, &text);
  }
  return fmt::format("{}: {}", name, text);
}

Status cu_status(CUresult result, const char* call, const char* file, int line) {
  StatusCode code = result == CUDA_ERROR_OUT_OF_MEMORY ? StatusCode::kResourceExhausted : StatusCode::kUnavailable;
  return Status(code, fmt::format("{} failed with {} ({}:{})", call, cu_error_text(result), file, line));
}

}  // namespace gqaforge::runtime
