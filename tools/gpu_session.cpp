#include "tools/gpu_session.h"

#include <utility>

namespace gqaforge::tools {
namespace {

runtime::CompileOptions options_for(const runtime::DeviceInfo& info) {
  runtime::CompileOptions options;
  options.arch = info.default_arch();
  return options;
}

}  // namespace

GpuSession::GpuSession(runtime::Context ctx, runtime::DeviceInfo device_info, runtime::Stream launch_stream)
    : context(std::move(ctx)),
      info(std::move(device_info)),
      stream(std::move(launch_stream)),
      jit(&cache, options_for(info)) {}

Result<std::unique_ptr<GpuSession>> open_gpu_session(int device) {
  GQF_ASSIGN_OR_RETURN(runtime::Context context, runtime::Context::create(device));
  GQF_ASSIGN_OR_RETURN(runtime::DeviceInfo info, runtime::query_device(device));
  GQF_ASSIGN_OR_RETURN(runtime::Stream stream, runtime::Stream::create());
  return std::make_unique<GpuSession>(std::move(context), std::move(info), std::move(stream));
}

}  // namespace gqaforge::tools
