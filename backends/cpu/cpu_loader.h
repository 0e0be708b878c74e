// Finding and loading the CPU module (libgqaforge_cpu.so, which holds the LLVM code generator
// and ORC JIT) on first use, and what the host it reports means to the rest of gqaforge: the
// device limits the CPU families validate against and the environment rows record.
#pragma once

#include <string>
#include <vector>

#include "backends/cpu/cpu_jit.h"
#include "codegen/device_limits.h"
#include "records/records.h"

namespace gqaforge::cpu {

/// Where the loader looks, in order: $GQAFORGE_CPU_MODULE alone when set; else gqaforge/ beside
/// the object the loader is in (libgqaforge.so's directory, for the C API), the installed layout
/// beside the executable (<bin>/../<libdir>/gqaforge/), the build tree's lib/ beside tools/, and
/// the build tree's path (for the tests' executables).
std::vector<std::string> cpu_module_candidates();

/// The process's CPU module, loaded (once) on the first call. The error names every path tried
/// and why each failed, and says how to build the module.
Result<CpuJit*> cpu_jit();

/// The path the module was loaded from (empty before a successful cpu_jit()).
std::string cpu_module_path();

/// Limits for the CPU families: hardware threads and vector lanes (the GPU fields stay at their
/// defaults, which no CPU config reads).
codegen::DeviceLimits cpu_limits(const HostCpu& host);

/// The environment of rows measured on this host: gpu_name holds the CPU model and the vector
/// features the kernels use ("Intel(R) Xeon(R) Processor [avx512f avx2 fma f16c]"), sm_count the
/// hardware threads, nvrtc_version the compiler ("LLVM 14.0.6"), so rows from another CPU or
/// LLVM never share an environment key with these.
Environment cpu_environment(const HostCpu& host);

}  // namespace gqaforge::cpu
