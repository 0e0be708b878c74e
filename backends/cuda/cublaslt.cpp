// cuBLASLt GEMM timing through dlopen.
#include "backends/cuda/cublaslt.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include <cublasLt.h>

namespace gqaforge::backends::cuda {

struct CublasLt::Api {
  decltype(&cublasLtCreate) create = nullptr;
  decltype(&cublasLtDestroy) destroy = nullptr;
  decltype(&cublasLtMatmulDescCreate) desc_create = nullptr;
  decltype(&cublasLtMatmulDescDestroy) desc_destroy = nullptr;
  decltype(&cublasLtMatmulDescSetAttribute) desc_set = nullptr;
  decltype(&cublasLtMatrixLayoutCreate) layout_create = nullptr;
  decltype(&cublasLtMatrixLayoutDestroy) layout_destroy = nullptr;
  decltype(&cublasLtMatmulPreferenceCreate) pref_create = nullptr;
  decltype(&cublasLtMatmulPreferenceDestroy) pref_destroy = nullptr;
  decltype(&cublasLtMatmulPreferenceSetAttribute) pref_set = nullptr;
  decltype(&cublasLtMatmulAlgoGetHeuristic) heuristic = nullptr;
  decltype(&cublasLtMatmul) matmul = nullptr;
};

namespace {

constexpr const char* kLibrary = "libcublasLt.so.13";

#define GQF_LT_CHECK(call)                                                                         \
  do {                                                                                             \
    cublasStatus_t gqf_lt_status_ = (call);                                                        \
    if (gqf_lt_status_ != CUBLAS_STATUS_SUCCESS)                                                   \
      return internal_error("cuBLASLt call {} failed with status {}", #call, int(gqf_lt_status_)); \
  } while (0)

/// Owns the descriptors of one GEMM.
struct GemmDescs {
  const CublasLt::Api* api = nullptr;
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~GemmDescs() {
    if (pref) api->pref_destroy(pref);
    if (c) api->layout_destroy(c);
    if (b) api->layout_destroy(b);
    if (a) api->layout_destroy(a);
    if (op) api->desc_destroy(op);
  }
};

}  // namespace

Result<std::unique_ptr<CublasLt>> CublasLt::load() {
  void* lib = dlopen(kLibrary, RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    return unavailable("cannot load {} (needed by --linear; install the CUDA 13 cuBLAS runtime): {}", kLibrary,
                       dlerror());
  }
  std::unique_ptr<CublasLt> lt(new CublasLt());
  lt->lib_ = lib;
  lt->api_ = std::make_unique<Api>();
  Api& a = *lt->api_;
  auto sym = [&](auto& fn, const char* name) -> Status {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
    if (fn == nullptr) return unavailable("{} lacks the symbol {}", kLibrary, name);
    return ok_status();
  };
  GQF_RETURN_IF_ERROR(sym(a.create, "cublasLtCreate"));
  GQF_RETURN_IF_ERROR(sym(a.destroy, "cublasLtDestroy"));
  GQF_RETURN_IF_ERROR(sym(a.desc_create, "cublasLtMatmulDescCreate"));
  GQF_RETURN_IF_ERROR(sym(a.desc_destroy, "cublasLtMatmulDescDestroy"));
  GQF_RETURN_IF_ERROR(sym(a.desc_set, "cublasLtMatmulDescSetAttribute"));
  GQF_RETURN_IF_ERROR(sym(a.layout_create, "cublasLtMatrixLayoutCreate"));
  GQF_RETURN_IF_ERROR(sym(a.layout_destroy, "cublasLtMatrixLayoutDestroy"));
  GQF_RETURN_IF_ERROR(sym(a.pref_create, "cublasLtMatmulPreferenceCreate"));
  GQF_RETURN_IF_ERROR(sym(a.pref_destroy, "cublasLtMatmulPreferenceDestroy"));
  GQF_RETURN_IF_ERROR(sym(a.pref_set, "cublasLtMatmulPreferenceSetAttribute"));
  GQF_RETURN_IF_ERROR(sym(a.heuristic, "cublasLtMatmulAlgoGetHeuristic"));
  GQF_RETURN_IF_ERROR(sym(a.matmul, "cublasLtMatmul"));
  cublasLtHandle_t handle = nullptr;
  GQF_LT_CHECK(a.create(&handle));
  lt->handle_ = handle;
  return lt;
}

CublasLt::~CublasLt() {
  if (handle_ != nullptr && api_) api_->destroy(static_cast<cublasLtHandle_t>(handle_));
  if (lib_ != nullptr) dlclose(lib_);
}

Result<TimingStats> CublasLt::time_gemm(int64_t m, int64_t n, int64_t k, int64_t l2_bytes, CUstream stream,
                                        const std::function<Status(runtime::DeviceBuffer&, uint64_t)>& fill,
                                        const TimingOptions& timing) {
  if (m <= 0 || n <= 0 || k <= 0) return invalid_argument("gemm {}x{}x{} needs positive sizes", m, n, k);
  const Api& a = *api_;
  // Column-major view: C[n, m] = W[k, n]^T * X[k, m], i.e. row-major Y[m, n] = X[m, k] W[n, k]^T.
  GemmDescs d;
  d.api = &a;
  GQF_LT_CHECK(a.desc_create(&d.op, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t trans_a = CUBLAS_OP_T, trans_b = CUBLAS_OP_N;
  GQF_LT_CHECK(a.desc_set(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a, sizeof(trans_a)));
  GQF_LT_CHECK(a.desc_set(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &trans_b, sizeof(trans_b)));
  GQF_LT_CHECK(a.layout_create(&d.a, CUDA_R_16BF, static_cast<uint64_t>(k), static_cast<uint64_t>(n), k));
  GQF_LT_CHECK(a.layout_create(&d.b, CUDA_R_16BF, static_cast<uint64_t>(k), static_cast<uint64_t>(m), k));
  GQF_LT_CHECK(a.layout_create(&d.c, CUDA_R_16BF, static_cast<uint64_t>(n), static_cast<uint64_t>(m), n));
  GQF_LT_CHECK(a.pref_create(&d.pref));
  const size_t workspace_bytes = 64ull << 20;
  GQF_LT_CHECK(a.pref_set(d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes, sizeof(workspace_bytes)));
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  auto handle = static_cast<cublasLtHandle_t>(handle_);
  GQF_LT_CHECK(a.heuristic(handle, d.op, d.a, d.b, d.c, d.c, d.pref, 1, &heuristic, &found));
  if (found == 0) return unavailable("cuBLASLt has no algorithm for bf16 gemm {}x{}x{}", m, n, k);

  // Operand copies: enough that the weights and activations exceed twice the L2 cache.
  const double operand_bytes = 2.0 * (double(m) * double(k) + double(n) * double(k));
  const int copies = static_cast<int>(std::clamp(std::ceil(2.0 * double(l2_bytes) / operand_bytes) + 1, 2.0, 16.0));
  std::vector<runtime::DeviceBuffer> xs, ws;
  for (int c = 0; c < copies; ++c) {
    GQF_ASSIGN_OR_RETURN(runtime::DeviceBuffer x, runtime::DeviceBuffer::alloc(static_cast<size_t>(m * k * 2)));
    GQF_ASSIGN_OR_RETURN(runtime::DeviceBuffer w, runtime::DeviceBuffer::alloc(static_cast<size_t>(n * k * 2)));
    const auto seed = static_cast<uint64_t>(2 * c);
    GQF_RETURN_IF_ERROR(fill(x, seed + 11));
    GQF_RETURN_IF_ERROR(fill(w, seed + 12));
    xs.push_back(std::move(x));
    ws.push_back(std::move(w));
  }
  GQF_ASSIGN_OR_RETURN(runtime::DeviceBuffer y, runtime::DeviceBuffer::alloc(static_cast<size_t>(m * n * 2)));
  GQF_ASSIGN_OR_RETURN(runtime::DeviceBuffer workspace, runtime::DeviceBuffer::alloc(workspace_bytes));
  const float alpha = 1.0f, beta = 0.0f;
  auto enqueue = [&](int i) -> Status {
    const size_t c = static_cast<size_t>(i % copies);
    GQF_LT_CHECK(a.matmul(handle, d.op, &alpha, reinterpret_cast<const void*>(ws[c].ptr()), d.a,
                          reinterpret_cast<const void*>(xs[c].ptr()), d.b, &beta, reinterpret_cast<void*>(y.ptr()), d.c,
                          reinterpret_cast<void*>(y.ptr()), d.c, &heuristic.algo,
                          reinterpret_cast<void*>(workspace.ptr()), workspace_bytes, stream));
    return ok_status();
  };
  GQF_RETURN_IF_ERROR(enqueue(0));
  GQF_ASSIGN_OR_RETURN(const runtime::DriverApi* api, runtime::driver());
  GQF_CU_CHECK(api, cuStreamSynchronize(stream));
  return time_calls(enqueue, stream, timing);
}

}  // namespace gqaforge::backends::cuda
