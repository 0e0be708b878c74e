// The CPU module loader (cpu_loader.h).
#include "backends/cpu/cpu_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <filesystem>
#include <mutex>

#include "codegen/source.h"
#include "core/build_info.h"
#include "core/env.h"

namespace gqaforge::cpu {
namespace {

std::mutex g_mutex;
CpuJit* g_jit = nullptr;
std::string g_path;

std::string executable_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  buf[n] = '\0';
  return std::filesystem::path(buf).parent_path().string();
}

}  // namespace

std::vector<std::string> cpu_module_candidates() {
  if (auto env = env_setting("CPU_MODULE")) return {*env};
  std::vector<std::string> out;
  // The directory of the object this loader is linked into: for the C API, libgqaforge.so's.
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&cpu_module_candidates), &info) != 0 && info.dli_fname != nullptr) {
    out.push_back(std::filesystem::path(info.dli_fname).parent_path().string() + "/gqaforge/libgqaforge_cpu.so");
  }
  if (const std::string dir = executable_dir(); !dir.empty()) {
#ifdef GQAFORGE_CPU_MODULE_LIBDIR
    out.push_back(dir + "/../" GQAFORGE_CPU_MODULE_LIBDIR "/gqaforge/libgqaforge_cpu.so");
#endif
    out.push_back(dir + "/../lib/libgqaforge_cpu.so");
  }
#ifdef GQAFORGE_CPU_MODULE_BUILD_PATH
  out.push_back(GQAFORGE_CPU_MODULE_BUILD_PATH);
#endif
  std::vector<std::string> unique;
  for (const std::string& p : out) {
    if (std::find(unique.begin(), unique.end(), p) == unique.end()) unique.push_back(p);
  }
  return unique;
}

Result<CpuJit*> cpu_jit() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_jit != nullptr) return g_jit;
  std::string tried;
  for (const std::string& path : cpu_module_candidates()) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      tried += fmt::format("\n  {}: not there", path);
      continue;
    }
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      tried += fmt::format("\n  {}: {}", path, ::dlerror());
      continue;
    }
    auto entry = reinterpret_cast<CpuJitEntry>(::dlsym(handle, kCpuJitEntryName));
    if (entry == nullptr) {
      tried += fmt::format("\n  {}: no {} symbol (not a gqaforge CPU module)", path, kCpuJitEntryName);
      ::dlclose(handle);
      continue;
    }
    std::string error;
    CpuJit* jit = entry(kCpuModuleAbi, &error);
    if (jit == nullptr) {
      // The module stays loaded: its static state may already be initialised.
      tried += fmt::format("\n  {}: {}", path, error);
      continue;
    }
    g_jit = jit;
    g_path = path;
    return g_jit;
  }
  return unavailable(
      "the CPU backend module (libgqaforge_cpu.so) could not be loaded; set GQAFORGE_CPU_MODULE to its path, or "
      "build it (it needs LLVM 14: Debian's llvm-14-dev). Tried:{}",
      tried.empty() ? std::string("\n  (no candidate paths)") : tried);
}

std::string cpu_module_path() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_path;
}

codegen::DeviceLimits cpu_limits(const HostCpu& host) {
  codegen::DeviceLimits l;
  l.cc_major = 0;
  l.cc_minor = 0;
  l.sm_count = host.threads;
  l.has_wgmma = false;
  l.cpu_threads = host.threads;
  l.cpu_vector_floats = host.vector_floats;
  return l;
}

Environment cpu_environment(const HostCpu& host) {
  Environment e;
  e.gpu_name = fmt::format("{} [{}]", host.model, host.features);
  e.sm_count = host.threads;
  e.nvrtc_version = "LLVM " + host.llvm_version;
  e.codegen_version = codegen::kCodegenVersion;
  e.codegen_hash = codegen::codegen_fingerprint();
  e.gqaforge_commit = gqaforge_git_commit();
  e.build_type = gqaforge_build_type();
  e.host = host_name();
  return e;
}

}  // namespace gqaforge::cpu
