// NVRTC compiler: typed options rendered in a fixed order, embedded kernel headers handed over
// from memory, and a result carrying the cubin, the log, the compile time and the resource
// usage that ptxas reports (registers, shared memory, stack, spills). Works without a GPU.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "codegen/source.h"
#include "core/status.h"

namespace gqaforge::runtime {

struct CompileOptions {
  std::string arch = "sm_90a";  // target: sm_90a on Hopper (wgmma, setmaxnreg), sm_XY elsewhere
  std::string cpp_std = "c++17";
  bool lineinfo = true;            // source line info for profilers
  int max_registers = 0;           // per-thread register cap; 0 = none
  bool fast_math = false;          // --use_fast_math (off: kernels use explicit fast paths)
  std::vector<std::string> extra;  // appended verbatim, after the typed options

  /// NVRTC option strings in a fixed order (part of the cache key).
  std::vector<std::string> render() const;
  Status validate() const;
};

/// What ptxas reports for one entry point.
struct KernelResources {
  int registers = 0;  // per thread
  int shared_static_bytes = 0;
  int constant_bytes = 0;
  int stack_frame_bytes = 0;
  int spill_store_bytes = 0;
  int spill_load_bytes = 0;
};

struct CompiledKernel {
  std::string key;  // sha256 of the canonical compile input
  std::string cubin;
  std::string log;        // NVRTC log including ptxas info lines
  double compile_ms = 0;  // NVRTC time (0 for a cache hit's compile)
  bool cache_hit = false;
  std::vector<std::string> options;
  std::map<std::string, KernelResources> resources;  // per entry point; an entry is absent
                                                     // when ptxas did not report it (see
                                                     // compile_nvrtc), until Jit::load fills it
};

/// The compute capabilities this NVRTC compiles for (nvrtcGetSupportedArchs: 75, 80, ... 121).
std::vector<int> nvrtc_supported_archs();
/// Validates an arch string (normalize_arch) and that this NVRTC supports it; the error is one
/// line naming the targets it does support.
Status check_nvrtc_arch(const std::string& arch);

/// "13.0" for the NVRTC this binary uses.
std::string nvrtc_version_string();

/// Canonical serialisation of everything that determines the cubin (source, every embedded
/// header, options, NVRTC version, codegen version) and its sha256.
std::string compile_key(const codegen::KernelSource& source, const CompileOptions& options);

/// Compiles with NVRTC. A failed compile returns invalid_argument/internal with the NVRTC log
/// and the options in the message.
Result<CompiledKernel> compile_nvrtc(const codegen::KernelSource& source, const CompileOptions& options);

/// Parses ptxas "info" lines of an NVRTC log into per-entry resources.
std::map<std::string, KernelResources> parse_ptxas_info(const std::string& log);

}  // namespace gqaforge::runtime
