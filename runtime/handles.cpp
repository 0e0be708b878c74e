// RAII handle implementations.
#include "runtime/handles.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "core/log.h"

namespace gqaforge::runtime {
namespace {

const DriverApi* api_or_null() {
  auto a = driver();
  return a.ok() ? *a : nullptr;
}

void log_release_failure(const char* what, CUresult r) {
  log_warn("releasing {} failed: {}", what, cu_error_text(r));
}

}  // namespace

Result<Context> Context::create(int ordinal) {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  int count = 0;
  GQF_CU_CHECK(api, cuDeviceGetCount(&count));
  if (ordinal < 0 || ordinal >= count) {
    return failed_precondition("device {} does not exist ({} CUDA device(s) present)", ordinal, count);
  }
  Context c;
  GQF_CU_CHECK(api, cuDeviceGet(&c.device_, ordinal));
  GQF_CU_CHECK(api, cuDevicePrimaryCtxRetain(&c.ctx_, c.device_));
  GQF_RETURN_IF_ERROR(c.make_current());
  return c;
}

Context::~Context() {
  if (ctx_ == nullptr) return;
  if (const DriverApi* api = api_or_null()) {
    CUresult r = api->cuDevicePrimaryCtxRelease_v2(device_);
    if (r != CUDA_SUCCESS) log_release_failure("primary context", r);
  }
}

Status Context::make_current() const {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  GQF_CU_CHECK(api, cuCtxSetCurrent(ctx_));
  return ok_status();
}

Status Context::synchronize() const {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  GQF_CU_CHECK(api, cuCtxSynchronize());
  return ok_status();
}

Result<DeviceBuffer> DeviceBuffer::alloc(size_t bytes) {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  DeviceBuffer b;
  if (bytes == 0) return b;
  GQF_CU_CHECK(api, cuMemAlloc_v2(&b.ptr_, bytes));
  b.size_ = bytes;
  return b;
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_ == 0) return;
  if (const DriverApi* api = api_or_null()) {
    CUresult r = api->cuMemFree_v2(ptr_);
    if (r != CUDA_SUCCESS) log_release_failure("device memory", r);
  }
}

Status DeviceBuffer::upload(const void* host, size_t bytes, size_t offset) {
  if (offset + bytes > size_) {
    return invalid_argument("upload of {} bytes at offset {} exceeds the buffer size {}", bytes, offset, size_);
  }
  if (bytes == 0) return ok_status();
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  GQF_CU_CHECK(api, cuMemcpyHtoD_v2(ptr_ + offset, host, bytes));
  // From pageable memory the copy returns once the bytes are staged; the DMA to the buffer
  // may still be running on the legacy stream, which kernels on non-blocking streams do not
  // wait for. Wait for it, so that the upload is complete for every stream.
  GQF_CU_CHECK(api, cuStreamSynchronize(CU_STREAM_LEGACY));
  return ok_status();
}

Status DeviceBuffer::download(void* host, size_t bytes, size_t offset) const {
  if (offset + bytes > size_) {
    return invalid_argument("download of {} bytes at offset {} exceeds the buffer size {}", bytes, offset, size_);
  }
  if (bytes == 0) return ok_status();
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  GQF_CU_CHECK(api, cuMemcpyDtoH_v2(host, ptr_ + offset, bytes));
  return ok_status();
}

Status DeviceBuffer::fill_bytes(unsigned char value, CUstream stream, size_t offset, size_t bytes) {
  if (bytes == SIZE_MAX) bytes = offset < size_ ? size_ - offset : 0;
  if (offset + bytes > size_) {
    return invalid_argument("fill of {} bytes at offset {} exceeds the buffer size {}", bytes, offset, size_);
  }
  if (bytes == 0) return ok_status();
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  GQF_CU_CHECK(api, cuMemsetD8Async(ptr_ + offset, value, bytes, stream));
  return ok_status();
}

Status DeviceBuffer::fill_u32(unsigned value, CUstream stream) {
  if (size_ < 4) return ok_status();
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  GQF_CU_CHECK(api, cuMemsetD32Async(ptr_, value, size_ / 4, stream));
  return ok_status();
}

Result<Stream> Stream::create() {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  Stream s;
  GQF_CU_CHECK(api, cuStreamCreate(&s.s_, CU_STREAM_NON_BLOCKING));
  return s;
}

Stream::~Stream() {
  if (s_ == nullptr) return;
  if (const DriverApi* api = api_or_null()) {
    CUresult r = api->cuStreamDestroy_v2(s_);
    if (r != CUDA_SUCCESS) log_release_failure("stream", r);
  }
}

Status Stream::synchronize() const {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  GQF_CU_CHECK(api, cuStreamSynchronize(s_));
  return ok_status();
}

Result<Event> Event::create() {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  Event e;
  GQF_CU_CHECK(api, cuEventCreate(&e.e_, CU_EVENT_DEFAULT));
  return e;
}

Event::~Event() {
  if (e_ == nullptr) return;
  if (const DriverApi* api = api_or_null()) {
    CUresult r = api->cuEventDestroy_v2(e_);
    if (r != CUDA_SUCCESS) log_release_failure("event", r);
  }
}

Status Event::record(CUstream stream) const {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  GQF_CU_CHECK(api, cuEventRecord(e_, stream));
  return ok_status();
}

Status Event::synchronize() const {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  GQF_CU_CHECK(api, cuEventSynchronize(e_));
  return ok_status();
}

Result<float> Event::elapsed_ms_since(const Event& start) const {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  float ms = 0;
  GQF_CU_CHECK(api, cuEventElapsedTime(&ms, start.e_, e_));
  return ms;
}

Status Function::set_max_dynamic_shared(int bytes) const {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  GQF_CU_CHECK(api, cuFuncSetAttribute(f_, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes));
  return ok_status();
}

Result<int> Function::attribute(CUfunction_attribute attr) const {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  int v = 0;
  GQF_CU_CHECK(api, cuFuncGetAttribute(&v, attr, f_));
  return v;
}

namespace {

/// One tensor map of K or V: `base` with element strides (batch, key, head) of `p`'s tensors.
Status encode_kv_map(const DriverApi& api, const char* what, const void* base, long long stride_b, long long stride_s,
                     long long stride_h, const GqaParams& p, int head_dim, int box_rows, unsigned long long* out) {
  static_assert(sizeof(CUtensorMap) == 16 * sizeof(unsigned long long), "KvTensorMaps holds CUtensorMaps");
  if (reinterpret_cast<uintptr_t>(base) % 16 != 0) {
    return invalid_argument("TMA needs a 16-byte aligned {} pointer, got {}", what, fmt::ptr(base));
  }
  constexpr long long kElem = 2;  // bf16 / fp16
  const cuuint64_t dims[4] = {static_cast<cuuint64_t>(head_dim), static_cast<cuuint64_t>(std::max(p.kv_len, 1)),
                              static_cast<cuuint64_t>(p.n_kv_heads), static_cast<cuuint64_t>(p.batch)};
  // A dimension of extent 1 is never stepped over: its stride only has to be legal.
  const long long legal = static_cast<long long>(dims[1]) * stride_s;
  const long long strides_elems[3] = {stride_s, p.n_kv_heads > 1 ? stride_h : legal, p.batch > 1 ? stride_b : legal};
  cuuint64_t strides[3];
  for (int i = 0; i < 3; ++i) {
    const long long bytes = strides_elems[i] * kElem;
    if (bytes <= 0 || bytes % 16 != 0 || bytes >= (1LL << 40)) {
      return invalid_argument(
          "TMA needs {} strides that are positive multiples of 16 bytes below 2^40; the {} stride is {} elements", what,
          i == 0 ? "key" : (i == 1 ? "head" : "batch"), strides_elems[i]);
    }
    strides[i] = static_cast<cuuint64_t>(bytes);
  }
  const cuuint32_t box[4] = {64, static_cast<cuuint32_t>(box_rows), 1, 1};
  const cuuint32_t element_strides[4] = {1, 1, 1, 1};
  const CUresult r = api.cuTensorMapEncodeTiled(reinterpret_cast<CUtensorMap*>(out), CU_TENSOR_MAP_DATA_TYPE_UINT16, 4,
                                                const_cast<void*>(base), dims, strides, box, element_strides,
                                                CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                                                CU_TENSOR_MAP_L2_PROMOTION_L2_128B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    return cu_status(r, "cuTensorMapEncodeTiled", __FILE__, __LINE__)
        .with_context(
            fmt::format("the {} tensor map: head dim {}, {} keys, {} KV heads, batch {}, strides {}/{}/{} elements",
                        what, head_dim, p.kv_len, p.n_kv_heads, p.batch, stride_s, stride_h, stride_b));
  }
  return ok_status();
}

}  // namespace

Status encode_kv_maps(const DriverApi& api, const GqaParams& p, int head_dim, int box_rows, KvTensorMaps* out) {
  GQF_RETURN_IF_ERROR(
      encode_kv_map(api, "K", p.k, p.k_stride_b, p.k_stride_s, p.k_stride_h, p, head_dim, box_rows, out->k));
  return encode_kv_map(api, "V", p.v, p.v_stride_b, p.v_stride_s, p.v_stride_h, p, head_dim, box_rows, out->v);
}

Status KvMapCache::get(const DriverApi& api, const GqaParams& p, int head_dim, int box_rows, KvTensorMaps* out) {
  Key key;
  key.k = p.k;
  key.v = p.v;
  const long long strides[6] = {p.k_stride_b, p.k_stride_s, p.k_stride_h, p.v_stride_b, p.v_stride_s, p.v_stride_h};
  std::copy(std::begin(strides), std::end(strides), key.strides);
  key.kv_len = p.kv_len, key.n_kv_heads = p.n_kv_heads, key.batch = p.batch;
  key.head_dim = head_dim, key.box_rows = box_rows;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!(key == key_)) {
    key_ = Key();  // a failed encode leaves nothing that could match
    GQF_RETURN_IF_ERROR(encode_kv_maps(api, p, head_dim, box_rows, &maps_));
    key_ = key;
  }
  *out = maps_;
  return ok_status();
}

Status launch_kernel(const DriverApi& api, CUfunction f, const unsigned* grid, const unsigned* block,
                     unsigned shared_bytes, CUstream stream, void** args, bool programmatic) {
  CUresult r;
  if (!programmatic) {
    r = api.cuLaunchKernel(f, grid[0], grid[1], grid[2], block[0], block[1], block[2], shared_bytes, stream, args,
                           nullptr);
  } else {
    CUlaunchAttribute attr{};
    attr.id = CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION;
    attr.value.programmaticStreamSerializationAllowed = 1;
    CUlaunchConfig config{};
    config.gridDimX = grid[0], config.gridDimY = grid[1], config.gridDimZ = grid[2];
    config.blockDimX = block[0], config.blockDimY = block[1], config.blockDimZ = block[2];
    config.sharedMemBytes = shared_bytes;
    config.hStream = stream;
    config.attrs = &attr;
    config.numAttrs = 1;
    r = api.cuLaunchKernelEx(&config, f, args, nullptr);
  }
  if (r != CUDA_SUCCESS) return cu_status(r, programmatic ? "cuLaunchKernelEx" : "cuLaunchKernel", __FILE__, __LINE__);
  return ok_status();
}

Status Function::launch(const unsigned (&grid)[3], const unsigned (&block)[3], int shared_bytes, CUstream stream,
                        const void* params, bool programmatic, const KvTensorMaps* maps) const {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  void* args[] = {const_cast<void*>(params), const_cast<KvTensorMaps*>(maps)};
  const Status s =
      launch_kernel(*api, f_, grid, block, static_cast<unsigned>(shared_bytes), stream, args, programmatic);
  if (!s.ok()) {
    return s.with_context(fmt::format("launching {} grid ({},{},{}) block ({},{},{}) shared {} B", name_, grid[0],
                                      grid[1], grid[2], block[0], block[1], block[2], shared_bytes));
  }
  return ok_status();
}

Result<Module> Module::load(const std::string& cubin) {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  Module m;
  GQF_CU_CHECK(api, cuModuleLoadData(&m.m_, cubin.data()));
  return m;
}

Module::~Module() {
  if (m_ == nullptr) return;
  if (const DriverApi* api = api_or_null()) {
    CUresult r = api->cuModuleUnload(m_);
    if (r != CUDA_SUCCESS) log_release_failure("module", r);
  }
}

Result<Function> Module::function(const std::string& name) const {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  CUfunction f = nullptr;
  CUresult r = api->cuModuleGetFunction(&f, m_, name.c_str());
  if (r != CUDA_SUCCESS) {
    return not_found("kernel '{}' is not in the module: {}", name, cu_error_text(r));
  }
  return Function(f, name);
}

GraphExec::~GraphExec() {
  if (g_ == nullptr) return;
  if (const DriverApi* api = api_or_null()) {
    CUresult r = api->cuGraphExecDestroy(g_);
    if (r != CUDA_SUCCESS) log_release_failure("graph", r);
  }
}

Status GraphExec::begin(CUstream stream) {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  GQF_CU_CHECK(api, cuStreamBeginCapture_v2(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL));
  return ok_status();
}

Result<GraphExec> GraphExec::end(CUstream stream) {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  CUgraph graph = nullptr;
  GQF_CU_CHECK(api, cuStreamEndCapture(stream, &graph));
  GraphExec exec;
  CUresult r = api->cuGraphInstantiateWithFlags(&exec.g_, graph, 0);
  api->cuGraphDestroy(graph);
  if (r != CUDA_SUCCESS) return cu_status(r, "cuGraphInstantiateWithFlags", __FILE__, __LINE__);
  return exec;
}

Status GraphExec::launch(CUstream stream) const {
  GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
  GQF_CU_CHECK(api, cuGraphLaunch(g_, stream));
  return ok_status();
}

}  // namespace gqaforge::runtime
