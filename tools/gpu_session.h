// What `check` and `bench` open before they run a kernel: the device's context, its
// description, a stream, and a JIT that compiles for it through the on-disk compile cache.
#pragma once

#include <memory>

#include "core/status.h"
#include "runtime/compile_cache.h"
#include "runtime/device_info.h"
#include "runtime/handles.h"
#include "runtime/jit.h"

namespace gqaforge::tools {

struct GpuSession {
  GpuSession(runtime::Context ctx, runtime::DeviceInfo device_info, runtime::Stream launch_stream);
  GpuSession(const GpuSession&) = delete;
  GpuSession& operator=(const GpuSession&) = delete;

  runtime::Context context;
  runtime::DeviceInfo info;
  runtime::Stream stream;
  runtime::CompileCache cache;
  runtime::Jit jit;  // compiles for info.default_arch() through `cache`
};

/// Opens GPU `device`: its context first (the error a machine without a GPU or driver gets),
/// then its description and a stream.
Result<std::unique_ptr<GpuSession>> open_gpu_session(int device);

}  // namespace gqaforge::tools
