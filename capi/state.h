// The C API's objects behind its opaque handles: an opened library (its dispatch table, the
// JIT pipeline and the modules loaded per CUDA context) and a plan (a chosen, loaded kernel
// with everything a run needs precomputed). capi/api.cpp turns them into the C functions.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "codegen/device_limits.h"
#include "codegen/family.h"
#include "codegen/kernels/params.h"
#include "gqaforge/gqaforge.h"
#include "library/library.h"
#include "runtime/compile_cache.h"
#include "runtime/cuda_driver.h"
#include "runtime/handles.h"

namespace gqaforge::capi {

/// The check of a C struct's struct_size field against this build's sizeof: the message names the
/// struct, the value and the size expected (then `hint`, e.g. ", or use gqaforge_problem_make").
Status check_struct_size(uint32_t given, size_t expected, const char* name, const char* hint = "");

/// A module loaded into one CUDA context, with the entry points of its kernel.
struct ContextModule {
  CUcontext ctx = nullptr;
  CUmodule module = nullptr;
  std::map<std::string, CUfunction> functions;
};

/// What gqaforge_library_open made: shared by the handle and every plan made from it, so that
/// closing the library while plans live is safe (the modules go with the last of them).
class LibraryState {
 public:
  /// `path` null: JIT only. A file that fails a check makes the library JIT-only when JIT is
  /// allowed (refused_reason() says why), else the error.
  static Result<std::shared_ptr<LibraryState>> open(const char* path, const gqaforge_open_options& options);
  ~LibraryState();
  LibraryState(const LibraryState&) = delete;
  LibraryState& operator=(const LibraryState&) = delete;

  /// The tuned table; nullptr when JIT only.
  const library::Library* table() const { return table_ ? &*table_ : nullptr; }
  bool allow_jit() const { return allow_jit_; }
  const std::string& arch() const { return arch_; }
  const codegen::DeviceLimits& limits() const { return limits_; }
  /// True when the limits are the device's own (a GPU was found at open).
  bool device_limits() const { return device_limits_; }
  const std::string& path() const { return path_; }
  const std::string& refused_reason() const { return refused_reason_; }
  /// The host CPU target (gqaforge_open_options.arch "cpu"): kernels from the CPU module, run on
  /// host memory; nullptr for a GPU target.
  cpu::CpuKernels* cpu() const { return cpu_.get(); }

  /// The module of `key` in context `ctx`, loaded from `image` on first use (thread-safe).
  /// `entry_points` are looked up once.
  Result<const ContextModule*> module(CUcontext ctx, const std::string& key, const std::string& image,
                                      const std::vector<std::string>& entry_points);
  /// The sha256 check of one of the table's cubins, done once (opening hashes none of them).
  Status check_cubin(const library::Cubin& cubin);
  /// Compiles (or takes from the persistent cache) the kernel of `source` for arch().
  Result<runtime::CompiledKernel> compile(const codegen::KernelSource& source);

 private:
  LibraryState() = default;

  std::optional<library::Library> table_;
  bool allow_jit_ = true;
  std::string path_;
  std::string arch_;
  codegen::DeviceLimits limits_;
  bool device_limits_ = false;
  std::string refused_reason_;
  std::unique_ptr<runtime::CompileCache> cache_;
  runtime::CompileOptions compile_options_;
  std::unique_ptr<cpu::CpuKernels> cpu_;

  std::mutex mutex_;
  std::map<std::pair<CUcontext, std::string>, std::unique_ptr<ContextModule>> modules_;
  std::map<const library::Cubin*, Status> cubin_checks_;
};

/// One launch of a run, with its function resolved.
struct BoundLaunch {
  CUfunction function = nullptr;
  unsigned grid[3] = {1, 1, 1};
  unsigned block[3] = {1, 1, 1};
  unsigned shared_bytes = 0;
  bool programmatic = false;  // codegen::LaunchShape::programmatic
  int kv_map_rows = 0;        // codegen::LaunchShape::kv_map_rows: > 0 passes the K/V tensor maps
};

/// The launches for one shape of dynamic dims (what a plan's run caches).
struct ShapeLaunch {
  int64_t batch = -1, q_len = -1, kv_len = -1;
  int launch_count = 0;
  std::array<BoundLaunch, 2> launches;
  int num_splits = 0, split_len = 0;
  size_t o_partial_offset = 0, lse_partial_offset = 0;
  size_t zero_offset = 0, zero_bytes = 0;
  size_t workspace_bytes = 0;
};

class Plan {
 public:
  /// Validates `problem` (every message names the value), dispatches it and loads the kernel
  /// when a GPU is present.
  static Result<std::unique_ptr<Plan>> create(std::shared_ptr<LibraryState> library, const gqaforge_problem& problem,
                                              uint32_t flags);
  ~Plan();
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  Status run(const gqaforge_run_args& args, void* workspace, size_t workspace_bytes, CUstream stream) const;
  size_t workspace_bytes() const { return workspace_bytes_; }
  void describe(gqaforge_plan_info& info) const;

 private:
  Plan() = default;
  Status load(const codegen::LaunchPlan& at_max);
  Status run_cpu(const GqaParams& params, const gqaforge_run_args& args, void* workspace, CUstream stream) const;
  Status check_args(const gqaforge_run_args& args, void* workspace, size_t workspace_bytes) const;
  /// The launches for the run's dims, from the cache or computed (and cached).
  Result<ShapeLaunch> shape_launch(const codegen::AttentionProblem& problem, const GqaParams& params) const;

  std::shared_ptr<LibraryState> library_;
  codegen::AttentionProblem problem_;  // at the plan's largest dims
  uint32_t flags_ = 0;
  const codegen::KernelFamily* family_ = nullptr;
  codegen::KernelConfig config_;
  GqaParams base_params_{};  // strides, heads, scale; pointers and dims filled per run
  size_t workspace_bytes_ = 0;

  // What describe reports.
  gqaforge_decision decision_ = GQAFORGE_DECISION_DEFAULT;
  double measured_us_ = 0, distance_ = 0;
  library::Range bucket_batch_{0, 0}, bucket_q_len_{0, 0}, bucket_kv_len_{0, 0};
  std::string family_name_, class_name_, config_text_, reason_, not_loaded_;

  // The kernel: the library's cubin (nullptr: compiled through NVRTC), and where it is loaded.
  const library::Cubin* cubin_ = nullptr;
  CUcontext ctx_ = nullptr;
  CUdevice retained_device_ = -1;  // >= 0: the plan retained this device's primary context
  const ContextModule* module_ = nullptr;
  cpu::CpuKernelFn cpu_fn_ = nullptr;  // the CPU target's compiled kernel

  mutable std::mutex cache_mutex_;
  mutable std::array<ShapeLaunch, 4> cache_;
  mutable size_t cache_next_ = 0;
  mutable runtime::KvMapCache kv_maps_;  // TMA kernels: the last call's K/V tensor maps
};

}  // namespace gqaforge::capi
