// RAII, move-only owners of driver objects: primary context, device memory, stream, event,
// module and graph. Destructors never throw: a failed release is logged and ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>

#include "codegen/kernels/params.h"
#include "runtime/cuda_driver.h"

namespace gqaforge::runtime {

/// Retains the primary context of a device and makes it current on the calling thread.
class Context {
 public:
  static Result<Context> create(int ordinal = 0);
  Context() = default;
  Context(Context&& o) noexcept { swap(o); }
  Context& operator=(Context&& o) noexcept {
    Context t(std::move(o));
    swap(t);
    return *this;
  }
  ~Context();
  /// Makes the context current on the calling thread (worker threads need this).
  Status make_current() const;
  CUdevice device() const { return device_; }
  CUcontext get() const { return ctx_; }
  Status synchronize() const;

 private:
  void swap(Context& o) noexcept {
    std::swap(device_, o.device_);
    std::swap(ctx_, o.ctx_);
  }
  CUdevice device_ = -1;
  CUcontext ctx_ = nullptr;
};

/// Device memory.
///
/// Ordering: the driver's "synchronous" copies and memsets run on the legacy default stream,
/// which a CU_STREAM_NON_BLOCKING stream (every Stream here) does not wait for, and a
/// memset or a pageable host-to-device copy can still be executing when the call returns. So
/// upload() waits until its bytes are on the device, and the fills take the stream whose
/// later work must see them (they are enqueued on it). download() returns after its copy has
/// completed but is not ordered after other streams: synchronise the writer's stream first.
class DeviceBuffer {
 public:
  static Result<DeviceBuffer> alloc(size_t bytes);
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer&& o) noexcept { swap(o); }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    DeviceBuffer t(std::move(o));
    swap(t);
    return *this;
  }
  ~DeviceBuffer();

  CUdeviceptr ptr() const { return ptr_; }
  size_t size() const { return size_; }
  /// Copies host bytes to the device; complete (visible to any stream) when it returns.
  Status upload(const void* host, size_t bytes, size_t offset = 0);
  Status download(void* host, size_t bytes, size_t offset = 0) const;
  /// Fills the buffer (or `bytes` from `offset`), enqueued on `stream` (work enqueued there
  /// later sees the fill).
  Status fill_bytes(unsigned char value, CUstream stream, size_t offset = 0, size_t bytes = SIZE_MAX);
  Status fill_u32(unsigned value, CUstream stream);

 private:
  void swap(DeviceBuffer& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(size_, o.size_);
  }
  CUdeviceptr ptr_ = 0;
  size_t size_ = 0;
};

class Stream {
 public:
  static Result<Stream> create();
  Stream() = default;
  Stream(Stream&& o) noexcept { std::swap(s_, o.s_); }
  Stream& operator=(Stream&& o) noexcept {
    Stream t(std::move(o));
    std::swap(s_, t.s_);
    return *this;
  }
  ~Stream();
  CUstream get() const { return s_; }
  Status synchronize() const;

 private:
  CUstream s_ = nullptr;
};

class Event {
 public:
  static Result<Event> create();
  Event() = default;
  Event(Event&& o) noexcept { std::swap(e_, o.e_); }
  Event& operator=(Event&& o) noexcept {
    Event t(std::move(o));
    std::swap(e_, t.e_);
    return *this;
  }
  ~Event();
  CUevent get() const { return e_; }
  Status record(CUstream stream) const;
  Status synchronize() const;
  /// Milliseconds between `start` (recorded earlier) and this event.
  Result<float> elapsed_ms_since(const Event& start) const;

 private:
  CUevent e_ = nullptr;
};

/// The K/V tensor maps of a TMA decode kernel (codegen::LaunchShape::kv_map_rows) for the
/// tensors of `params`: rank 4 (head_dim, params.kv_len keys, KV heads, batch) with the params'
/// strides, boxes of 64 columns x `box_rows` keys, 128-byte swizzle, zeros outside the tensor.
/// Fails naming the value when a base pointer or stride breaks TMA's rules (16-byte aligned
/// base, strides multiples of 16 bytes below 2^40).
Status encode_kv_maps(const DriverApi& api, const GqaParams& params, int head_dim, int box_rows, KvTensorMaps* out);

/// encode_kv_maps for a caller that launches again and again on the same cache tensors (a
/// serving loop): the last maps are kept and re-encoded only when a pointer, stride, extent or
/// the box changes. Thread-safe.
class KvMapCache {
 public:
  Status get(const DriverApi& api, const GqaParams& params, int head_dim, int box_rows, KvTensorMaps* out);

 private:
  struct Key {
    const void* k = nullptr;
    const void* v = nullptr;
    long long strides[6] = {};
    int kv_len = -1, n_kv_heads = -1, batch = -1, head_dim = -1, box_rows = -1;
    bool operator==(const Key&) const = default;
  };
  std::mutex mutex_;
  Key key_;
  KvTensorMaps maps_{};
};

/// One launch with the kernel arguments `args`; `programmatic`: as a programmatic dependent
/// launch (codegen::LaunchShape::programmatic) through cuLaunchKernelEx, else cuLaunchKernel.
/// A failure names the driver call.
Status launch_kernel(const DriverApi& api, CUfunction f, const unsigned* grid, const unsigned* block,
                     unsigned shared_bytes, CUstream stream, void** args, bool programmatic);

/// A kernel entry point of a loaded module (non-owning; valid while the module lives).
class Function {
 public:
  Function() = default;
  Function(CUfunction f, std::string name) : f_(f), name_(std::move(name)) {}
  CUfunction get() const { return f_; }
  const std::string& name() const { return name_; }
  /// Raises the dynamic shared memory limit when more than 48 KB is needed.
  Status set_max_dynamic_shared(int bytes) const;
  Result<int> attribute(CUfunction_attribute attr) const;
  /// Launches with the by-value argument `params`, and `maps` as the second argument when not
  /// null (TMA decode kernels); `programmatic`: as a programmatic dependent launch
  /// (codegen::LaunchShape::programmatic), where the device has them.
  Status launch(const unsigned (&grid)[3], const unsigned (&block)[3], int shared_bytes, CUstream stream,
                const void* params, bool programmatic = false, const KvTensorMaps* maps = nullptr) const;

 private:
  CUfunction f_ = nullptr;
  std::string name_;
};

/// A module loaded from a cubin in the current context.
class Module {
 public:
  static Result<Module> load(const std::string& cubin);
  Module() = default;
  Module(Module&& o) noexcept { std::swap(m_, o.m_); }
  Module& operator=(Module&& o) noexcept {
    Module t(std::move(o));
    std::swap(m_, t.m_);
    return *this;
  }
  ~Module();
  Result<Function> function(const std::string& name) const;
  bool loaded() const { return m_ != nullptr; }

 private:
  CUmodule m_ = nullptr;
};

/// An instantiated CUDA graph captured from a stream.
class GraphExec {
 public:
  GraphExec() = default;
  GraphExec(GraphExec&& o) noexcept { std::swap(g_, o.g_); }
  GraphExec& operator=(GraphExec&& o) noexcept {
    GraphExec t(std::move(o));
    std::swap(g_, t.g_);
    return *this;
  }
  ~GraphExec();
  /// Captures what `body` enqueues on `stream` and instantiates it.
  template <typename F>
  static Result<GraphExec> capture(CUstream stream, F&& body);
  Status launch(CUstream stream) const;

 private:
  static Status begin(CUstream stream);
  static Result<GraphExec> end(CUstream stream);
  CUgraphExec g_ = nullptr;
};

template <typename F>
Result<GraphExec> GraphExec::capture(CUstream stream, F&& body) {
  GQF_RETURN_IF_ERROR(begin(stream));
  Status s = body();
  Result<GraphExec> g = end(stream);
  if (!s.ok()) return s;
  return g;
}

}  // namespace gqaforge::runtime
