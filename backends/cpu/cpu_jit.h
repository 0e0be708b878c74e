// The CPU module's interface: what the LLVM-linked module (libgqaforge_cpu.so, loaded on use by
// cpu_loader.h) offers the rest of gqaforge, which never links LLVM. The module generates LLVM IR
// for a CpuKernelSpec (ir_gen.h), optimises it for the host, compiles it with ORC's LLJIT and
// keeps the object code in the compile cache, keyed by the spec, the LLVM version and the host's
// CPU and features, so that an object built for another CPU is never loaded.
//
// Both sides are built together (same compiler, same headers): the interface is C++ behind one
// C entry point, which checks an ABI number before handing anything out.
#pragma once

#include <cstdint>
#include <string>

#include "codegen/cpu_config.h"
#include "codegen/kernels/params.h"
#include "core/status.h"

namespace gqaforge::cpu {

/// The generated function: computes work items [first, end) of the call described by `params`
/// (the decomposition of codegen/cpu_config.h). Thread-safe; items are independent.
using CpuKernelFn = void (*)(const GqaParams* params, int64_t first, int64_t end);

/// The host as the module sees it.
struct HostCpu {
  std::string model;         // "Intel(R) Xeon(R) Processor" (from the OS)
  std::string llvm_cpu;      // LLVM's name for it, "skylake-avx512"
  std::string features;      // the vector features the kernels use: "avx512f avx2 fma f16c"
  std::string all_features;  // every feature LLVM detected (part of the object-cache key)
  int vector_floats = 4;     // fp32 lanes of the widest vector the kernels use
  int threads = 1;           // hardware threads
  std::string llvm_version;  // "14.0.6"
};

struct CompiledCpuKernel {
  CpuKernelFn fn = nullptr;
  double compile_ms = 0;  // IR generation, optimisation and code generation (0 on a cache hit)
  bool cache_hit = false;
  size_t object_bytes = 0;
  std::string key;  // object-cache key (hex)
};

class CpuJit {
 public:
  virtual ~CpuJit() = default;
  virtual const HostCpu& host() const = 0;
  /// The spec's LLVM IR as text, before (optimized = false) or after the host's -O3 pipeline.
  virtual Result<std::string> ir_text(const codegen::CpuKernelSpec& spec, bool optimized) = 0;
  /// The spec's function, compiled (or loaded from `cache_dir`/cpu when present there; an empty
  /// `cache_dir` disables the cache). The function stays valid for the life of the module.
  virtual Result<CompiledCpuKernel> compile(const codegen::CpuKernelSpec& spec, const std::string& cache_dir) = 0;
};

/// Bumped whenever this interface or the generated code changes.
inline constexpr int kCpuModuleAbi = 1;

/// The module's one exported symbol: a process-wide CpuJit, or null with `*error` set (an ABI
/// mismatch, a host LLVM cannot target).
extern "C" {
typedef CpuJit* (*CpuJitEntry)(int abi, std::string* error);
}
inline constexpr const char* kCpuJitEntryName = "gqaforge_cpu_jit";

}  // namespace gqaforge::cpu
