// The CUDA driver API, loaded at run time (dlopen "libcuda.so.1"), never linked: gqaforge starts
// and every CPU-only path works on a host without a GPU or driver. `driver()` returns the
// symbol table or a clear "unavailable" status; GQF_CU_CHECK turns a CUresult into a Status
// carrying the call text, the error name and message, file and line.
#pragma once

#include <cuda.h>

#include "core/status.h"

namespace gqaforge::runtime {

/// Function pointers of the driver entry points gqaforge uses.
struct DriverApi {
#define GQF_DRIVER_FN(name, ...) CUresult (*name)(__VA_ARGS__) = nullptr;
#include "runtime/cuda_driver_fns.inc"
#undef GQF_DRIVER_FN
};

/// Loads libcuda.so.1 and calls cuInit(0) once; later calls return the cached outcome.
Result<const DriverApi*> driver();

/// True when a driver is loadable and at least one device is present.
bool gpu_available();

/// "CUDA_ERROR_OUT_OF_MEMORY: out of memory" for a CUresult.
std::string cu_error_text(CUresult result);

/// Status for a failed driver call.
Status cu_status(CUresult result, const char* call, const char* file, int line);

}  // namespace gqaforge::runtime

/// Evaluates a driver call through the loaded table: GQF_CU_CHECK(api, cuMemAlloc(&p, n)).
#define GQF_CU_CHECK(api, call)                                                         \
  do {                                                                                  \
    CUresult gqf_cu_result_ = (api)->call;                                              \
    if (gqf_cu_result_ != CUDA_SUCCESS)                                                 \
      return ::gqaforge::runtime::cu_status(gqf_cu_result_, #call, __FILE__, __LINE__); \
  } while (0)
