// LibraryState: opening (the target, the tuned table or JIT only) and the modules per context.
#include "capi/state.h"

#include "runtime/device_info.h"

namespace gqaforge::capi {

using codegen::DeviceLimits;
using codegen::KernelSource;
using codegen::normalize_arch;

namespace {

// The device of the context current on this thread, else device 0; nullopt without a GPU.
std::optional<runtime::DeviceInfo> present_device() {
  if (!runtime::gpu_available()) return std::nullopt;
  const runtime::DriverApi* api = *runtime::driver();
  CUcontext ctx = nullptr;
  CUdevice dev = 0;
  if (api->cuCtxGetCurrent(&ctx) != CUDA_SUCCESS || ctx == nullptr || api->cuCtxGetDevice(&dev) != CUDA_SUCCESS) {
    dev = 0;
  }
  auto info = runtime::query_device(static_cast<int>(dev));
  if (!info.ok()) return std::nullopt;
  return *info;
}

// Pushes `ctx` for the scope (module loads and unloads act on the current context).
class ScopedContext {
 public:
  ScopedContext(const runtime::DriverApi* api, CUcontext ctx) : api_(api) {
    pushed_ = api_->cuCtxPushCurrent_v2(ctx) == CUDA_SUCCESS;
  }
  ~ScopedContext() {
    CUcontext popped = nullptr;
    if (pushed_) api_->cuCtxPopCurrent_v2(&popped);
  }
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;
  bool ok() const { return pushed_; }

 private:
  const runtime::DriverApi* api_;
  bool pushed_ = false;
};

}  // namespace

Result<std::shared_ptr<LibraryState>> LibraryState::open(const char* path, const gqaforge_open_options& options) {
  std::shared_ptr<LibraryState> s(new LibraryState());
  s->allow_jit_ = (options.flags & GQAFORGE_OPEN_FORBID_JIT) == 0;
  if (path == nullptr && !s->allow_jit_) {
    return invalid_argument(
        "no library path and GQAFORGE_OPEN_FORBID_JIT: without a library every kernel is compiled through NVRTC");
  }
  if (options.arch != nullptr && std::string_view(options.arch) == "cpu") {
    // The host CPU: the CPU module's kernels; tuned libraries hold CUDA kernels only.
    s->arch_ = "cpu";
    GQF_ASSIGN_OR_RETURN(s->cpu_, cpu::CpuKernels::open(options.cache_dir != nullptr ? options.cache_dir : ""));
    s->limits_ = s->cpu_->limits();
    s->device_limits_ = true;
    if (path != nullptr) {
      s->path_ = path;
      const std::string why = fmt::format("'{}' holds CUDA kernels; libraries of CPU kernels do not exist yet", path);
      if (!s->allow_jit_) return failed_precondition("{} (open it with JIT allowed, or with no path)", why);
      s->refused_reason_ = why;
    }
    return s;
  }
  std::string arch;
  if (options.arch != nullptr) {
    auto normalized = normalize_arch(options.arch);
    if (!normalized.ok()) return normalized.status().with_context("gqaforge_open_options.arch");
    arch = *normalized;
  }
  const std::optional<runtime::DeviceInfo> device = present_device();
  if (arch.empty() && device) arch = device->default_arch();

  if (path != nullptr) {
    s->path_ = path;
    library::OpenOptions open{
        .allow_jit = s->allow_jit_, .device_arch = arch, .check_codegen = true, .verify_cubins = false};
    auto table = library::Library::open(path, open);
    if (table.ok()) {
      s->table_.emplace(std::move(*table));
      if (arch.empty()) arch = s->table_->arch();
    } else if (!s->allow_jit_) {
      return table.status();
    } else {
      s->refused_reason_ = table.status().message();
    }
  }
  // Without a device, a target or a table to say otherwise: the Hopper target gqaforge tunes.
  if (arch.empty()) arch = "sm_90a";
  s->arch_ = arch;
  if (device && device->default_arch() == arch) {
    s->limits_ = device->limits();
    s->device_limits_ = true;
  } else {
    auto limits = DeviceLimits::for_arch(arch);
    if (!limits.ok()) return limits.status().with_context("gqaforge_open_options.arch");
    s->limits_ = *limits;
    if (device) s->limits_.sm_count = device->sm_count;
  }
  s->cache_ = std::make_unique<runtime::CompileCache>(
      options.cache_dir != nullptr ? std::filesystem::path(options.cache_dir) : std::filesystem::path());
  s->compile_options_.arch = arch;
  return s;
}

LibraryState::~LibraryState() {
  auto api = runtime::driver();
  if (!api.ok()) return;
  for (auto& [key, m] : modules_) {
    // The context may be gone already (its owner destroyed it): then so is the module.
    ScopedContext scope(*api, m->ctx);
    if (scope.ok()) (*api)->cuModuleUnload(m->module);
  }
}

Result<const ContextModule*> LibraryState::module(CUcontext ctx, const std::string& key, const std::string& image,
                                                  const std::vector<std::string>& entry_points) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = modules_.find({ctx, key});
  if (it != modules_.end()) return it->second.get();
  GQF_ASSIGN_OR_RETURN(const runtime::DriverApi* api, runtime::driver());
  ScopedContext scope(api, ctx);
  if (!scope.ok()) return failed_precondition("cannot make CUDA context {} current to load a kernel", fmt::ptr(ctx));
  auto m = std::make_unique<ContextModule>();
  m->ctx = ctx;
  GQF_CU_CHECK(api, cuModuleLoadData(&m->module, image.data()));
  for (const std::string& name : entry_points) {
    CUfunction f = nullptr;
    CUresult r = api->cuModuleGetFunction(&f, m->module, name.c_str());
    if (r != CUDA_SUCCESS) {
      api->cuModuleUnload(m->module);
      return runtime::cu_status(r, "cuModuleGetFunction", __FILE__, __LINE__).with_context(name);
    }
    m->functions.emplace(name, f);
  }
  const ContextModule* out = m.get();
  modules_.emplace(std::make_pair(ctx, key), std::move(m));
  return out;
}

Status LibraryState::check_cubin(const library::Cubin& cubin) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = cubin_checks_.find(&cubin);
  if (it == cubin_checks_.end()) {
    it = cubin_checks_.emplace(&cubin, library::check_cubin(table_->contents(), cubin, path_)).first;
  }
  return it->second;
}

Result<runtime::CompiledKernel> LibraryState::compile(const KernelSource& source) {
  GQF_RETURN_IF_ERROR(runtime::check_nvrtc_arch(arch_));
  return cache_->get_or_compile(source, compile_options_);
}

}  // namespace gqaforge::capi
