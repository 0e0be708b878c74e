// A C++17 consumer of gqaforge's C API, linked against the static libgqaforge.a: the shape of a
// serving engine's attention layer. One decode plan and one prefill plan are made at start-up for
// the largest batch and context the engine serves, then reused by every layer at every step.
//
//   gqaforge_cpp_example LIBRARY.gqalib
//
// It also shows a library opened with JIT forbidden refusing a class it has no tuned kernel for.
// With a GPU every run's output is checked (V is constant, so O must equal it); without one the
// runs report GQAFORGE_STATUS_UNAVAILABLE. Exit status 0 when everything went as the machine
// allows.
#include <gqaforge/gqaforge.h>

#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

// The C API's handles, owned.
struct LibraryClose {
  void operator()(gqaforge_library* library) const { gqaforge_library_close(library); }
};
struct PlanDestroy {
  void operator()(gqaforge_plan* plan) const { gqaforge_plan_destroy(plan); }
};
using Library = std::unique_ptr<gqaforge_library, LibraryClose>;
using Plan = std::unique_ptr<gqaforge_plan, PlanDestroy>;

// A failed call's status and message, for one line of output.
struct Error {
  gqaforge_status status = GQAFORGE_STATUS_OK;
  std::string message;
  explicit operator bool() const { return status != GQAFORGE_STATUS_OK; }
};
Error error_of(gqaforge_status status) {
  if (status == GQAFORGE_STATUS_OK) return {};
  return {status, std::string(gqaforge_status_name(status)) + ": " + gqaforge_last_error()};
}

// Device memory, freed on scope exit.
struct DeviceBuffer {
  void* ptr = nullptr;
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(ptr); }
};

constexpr uint16_t kBf16Half = 0x3F00;  // 0.5

// The model: 8 query heads sharing 1 KV head, head dim 64, bf16, causal; 4 layers.
constexpr int32_t kQHeads = 8, kKvHeads = 1, kHeadDim = 64;
constexpr int kLayers = 4;
constexpr int64_t kMaxBatch = 8, kMaxContext = 32768, kMaxPrompt = 2048;

gqaforge_problem model_problem(gqaforge_phase phase, int64_t max_batch, int64_t max_q_len, int64_t max_kv_len) {
  return gqaforge_problem_make(phase, GQAFORGE_DTYPE_BF16, kQHeads, kKvHeads, kHeadDim, /*causal=*/1, max_batch,
                               max_q_len, max_kv_len);
}

// Creates a plan and prints its dispatch decision.
Error make_plan(gqaforge_library* library, const gqaforge_problem& problem, const char* role, Plan* out,
                size_t* workspace_bytes) {
  gqaforge_plan* plan = nullptr;
  if (Error e = error_of(gqaforge_plan_create(library, &problem, 0, &plan))) return e;
  out->reset(plan);
  gqaforge_plan_info info{};
  info.struct_size = sizeof(info);
  if (Error e = error_of(gqaforge_plan_describe(plan, &info))) return e;
  *workspace_bytes = info.workspace_bytes;
  std::printf("%-8s %s: %s, config %s, workspace %zu bytes\n         %s\n", role, info.kernel_class,
              gqaforge_decision_name(info.decision), info.config, info.workspace_bytes, info.reason);
  return {};
}

// The tensors of the largest run a plan serves: Q and O [batch, q_len, heads, dim], K and V
// [batch, kv_len, kv_heads, dim]; Q and K hold a pseudo-random pattern, V the constant 0.5.
class Tensors {
 public:
  bool allocate(int64_t batch, int64_t q_len, int64_t kv_len, size_t workspace_bytes) {
    q_elems_ = static_cast<size_t>(batch * q_len * kQHeads * kHeadDim);
    const size_t kv_elems = static_cast<size_t>(batch * kv_len * kKvHeads * kHeadDim);
    return alloc(&q_, q_elems_) && alloc(&k_, kv_elems) && alloc(&v_, kv_elems) && alloc(&o_, q_elems_) &&
           (workspace_bytes == 0 || cudaMalloc(&workspace_.ptr, workspace_bytes) == cudaSuccess) &&
           fill(q_.ptr, q_elems_, false) && fill(k_.ptr, kv_elems, false) && fill(v_.ptr, kv_elems, true);
  }

  gqaforge_run_args args(int64_t batch, int64_t q_len, int64_t kv_len) const {
    gqaforge_run_args a{};
    a.struct_size = sizeof(a);
    a.batch = batch;
    a.q_len = q_len;
    a.kv_len = kv_len;
    a.q = q_.ptr;
    a.k = k_.ptr;
    a.v = v_.ptr;
    a.o = o_.ptr;
    return a;
  }
  void* workspace() const { return workspace_.ptr; }

  // The first `elems` outputs all equal V's 0.5 (to a bf16 ulp).
  bool output_is_half(size_t elems) const {
    std::vector<uint16_t> host(elems);
    if (cudaMemcpy(host.data(), o_.ptr, elems * sizeof(uint16_t), cudaMemcpyDeviceToHost) != cudaSuccess) return false;
    for (uint16_t x : host) {
      if (x + 1 < kBf16Half || x > kBf16Half + 1) return false;
    }
    return true;
  }

 private:
  static bool alloc(DeviceBuffer* buffer, size_t elems) {
    return cudaMalloc(&buffer->ptr, elems * sizeof(uint16_t)) == cudaSuccess;
  }
  static bool fill(void* dst, size_t elems, bool constant) {
    std::vector<uint16_t> host(elems, kBf16Half);
    uint32_t x = 2024u;
    for (size_t i = 0; !constant && i < elems; ++i) {
      x = x * 1664525u + 1013904223u;
      const float f = static_cast<float>(x >> 16) / 32768.0f - 1.0f;
      uint32_t bits;
      std::memcpy(&bits, &f, sizeof(bits));
      host[i] = static_cast<uint16_t>(bits >> 16);
    }
    return cudaMemcpy(dst, host.data(), elems * sizeof(uint16_t), cudaMemcpyHostToDevice) == cudaSuccess;
  }

  DeviceBuffer q_, k_, v_, o_, workspace_;
  size_t q_elems_ = 0;
};

// One engine step: the plan run by every layer on the same stream (a real engine passes each
// layer's own KV cache; the plan is the same). Returns false on an unexpected failure.
bool run_layers(const char* role, const gqaforge_plan* plan, const Tensors* tensors, size_t workspace_bytes,
                int64_t batch, int64_t q_len, int64_t kv_len, bool have_gpu, cudaStream_t stream) {
  // Without a GPU there is no device memory: run checks its arguments before it looks for the
  // kernel, so stand-in addresses (non-null, aligned, never touched) get the missing-GPU answer.
  alignas(16) static unsigned char stand_in[16];
  gqaforge_run_args args = tensors->args(batch, q_len, kv_len);
  void* workspace = tensors->workspace();
  if (!have_gpu) {
    args.q = args.k = args.v = args.o = stand_in;
    workspace = stand_in;
  }
  for (int layer = 0; layer < kLayers; ++layer) {
    if (Error e = error_of(gqaforge_plan_run(plan, &args, workspace, workspace_bytes, stream))) {
      std::printf("%-8s batch %lld, q_len %lld, kv_len %lld: run %s\n", role, static_cast<long long>(batch),
                  static_cast<long long>(q_len), static_cast<long long>(kv_len), e.message.c_str());
      // Without a GPU, UNAVAILABLE is the answer; with one, any failure is an error.
      return !have_gpu && e.status == GQAFORGE_STATUS_UNAVAILABLE;
    }
  }
  const size_t outputs = static_cast<size_t>(batch * q_len * kQHeads * kHeadDim);
  const bool good = cudaStreamSynchronize(stream) == cudaSuccess && tensors->output_is_half(outputs);
  std::printf("%-8s batch %lld, q_len %lld, kv_len %lld: %d layers %s\n", role, static_cast<long long>(batch),
              static_cast<long long>(q_len), static_cast<long long>(kv_len), kLayers,
              good ? "ok, output checked" : "FAILED");
  return good;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s LIBRARY.gqalib\n", argv[0]);
    return 2;
  }
  std::printf("gqaforge %s\n", gqaforge_version_string());
  if (gqaforge_version() / 100 != GQAFORGE_VERSION_MAJOR * 100 + GQAFORGE_VERSION_MINOR) {
    std::fprintf(stderr, "libgqaforge %d does not match the header's %d.%d\n", gqaforge_version(),
                 GQAFORGE_VERSION_MAJOR, GQAFORGE_VERSION_MINOR);
    return 1;
  }

  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  const bool have_gpu = err == cudaSuccess && devices > 0;
  cudaStream_t stream = nullptr;
  if (have_gpu && (cudaSetDevice(0) != cudaSuccess || cudaStreamCreate(&stream) != cudaSuccess)) {
    std::fprintf(stderr, "cannot set up device 0\n");
    return 1;
  }
  std::printf("device   %s\n", have_gpu ? "0" : "none, planning only");

  gqaforge_library* raw = nullptr;
  if (Error open_error = error_of(gqaforge_library_open(argv[1], nullptr, &raw))) {
    std::fprintf(stderr, "open %s: %s\n", argv[1], open_error.message.c_str());
    return 1;
  }
  Library library(raw);

  // Start-up: one plan per phase, for the largest shapes served.
  Plan decode, prefill;
  size_t decode_ws = 0, prefill_ws = 0;
  Error e = make_plan(library.get(), model_problem(GQAFORGE_PHASE_DECODE, kMaxBatch, 1, kMaxContext), "decode", &decode,
                      &decode_ws);
  if (!e) {
    e = make_plan(library.get(), model_problem(GQAFORGE_PHASE_PREFILL, 1, kMaxPrompt, kMaxPrompt), "prefill", &prefill,
                  &prefill_ws);
  }
  if (e) {
    std::fprintf(stderr, "plan: %s\n", e.message.c_str());
    return 1;
  }

  Tensors decode_tensors, prefill_tensors;
  if (have_gpu && (!decode_tensors.allocate(kMaxBatch, 1, kMaxContext, decode_ws) ||
                   !prefill_tensors.allocate(1, kMaxPrompt, kMaxPrompt, prefill_ws))) {
    std::fprintf(stderr, "cannot allocate the tensors\n");
    return 1;
  }

  // Steps: a prompt, then decode steps at growing context, all within the plans' maxima.
  bool good = run_layers("prefill", prefill.get(), &prefill_tensors, prefill_ws, 1, 1000, 1000, have_gpu, stream);
  for (int64_t kv_len : {int64_t{1001}, int64_t{8000}, kMaxContext}) {
    good =
        run_layers("decode", decode.get(), &decode_tensors, decode_ws, kMaxBatch, 1, kv_len, have_gpu, stream) && good;
  }

  // A library opened with JIT forbidden serves only what it has kernels for.
  gqaforge_open_options options{};
  options.struct_size = sizeof(options);
  options.flags = GQAFORGE_OPEN_FORBID_JIT;
  gqaforge_library* strict_raw = nullptr;
  if (Error open_error = error_of(gqaforge_library_open(argv[1], &options, &strict_raw))) {
    std::fprintf(stderr, "open %s without JIT: %s\n", argv[1], open_error.message.c_str());
    return 1;
  }
  Library strict(strict_raw);
  const gqaforge_problem untuned =
      gqaforge_problem_make(GQAFORGE_PHASE_PREFILL, GQAFORGE_DTYPE_BF16, 32, 8, 128, 1, 1, 4096, 4096);
  gqaforge_plan* refused = nullptr;
  const gqaforge_status status = gqaforge_plan_create(strict.get(), &untuned, 0, &refused);
  std::printf("no-jit   prefill 32:8 d128: %s%s%s\n", gqaforge_status_name(status),
              status == GQAFORGE_STATUS_OK ? "" : ": ", status == GQAFORGE_STATUS_OK ? "" : gqaforge_last_error());
  gqaforge_plan_destroy(refused);
  good = good && status == GQAFORGE_STATUS_FAILED_PRECONDITION;

  if (stream != nullptr) cudaStreamDestroy(stream);
  std::printf("%s\n", good ? "done" : "FAILED");
  return good ? 0 : 1;
}
