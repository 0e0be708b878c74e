// Device copies of one attention problem's tensors and the GqaParams that describe them:
// upload from HostAttention, poison outputs before a launch, read outputs back.
#pragma once

#include <vector>

#include "codegen/kernels/params.h"
#include "runtime/handles.h"
#include "runtime/host_attention.h"

namespace gqaforge::runtime {

struct DeviceAttention {
  DeviceBuffer q, k, v, o, lse, kv_lens, cu_q, cu_k;
  GqaParams params{};

  /// Uploads inputs, allocates O (and LSE when `with_lse`), and fills params. With
  /// `kv_head_major` (fixed layout only) K and V are stored [batch, n_kv, kv_len, head_dim],
  /// the layout of many KV caches, instead of [batch, kv_len, n_kv, head_dim].
  static Result<DeviceAttention> upload(const HostAttention& host, bool with_lse, bool kv_head_major = false);
  /// Allocates uninitialised tensors of the fixed layout (benchmarks fill them on the device).
  static Result<DeviceAttention> allocate(const codegen::AttentionProblem& problem, bool with_lse,
                                          bool kv_head_major = false);

  /// Writes the poison pattern over O and LSE, enqueued on `stream` (the stream the kernel
  /// under test is launched on, so the poison lands before the kernel writes).
  Status poison(CUstream stream);
  Result<std::vector<uint16_t>> download_o() const;
  Result<std::vector<float>> download_lse() const;

 private:
  /// Points params at the buffers (lse only when it was allocated).
  void bind_buffers();
};

/// Fixed-layout params (strides of contiguous [B, S, H, D] tensors, or [B, H, S, D] for K/V
/// when `kv_head_major`) with null pointers.
GqaParams fixed_layout_params(const codegen::AttentionProblem& problem, bool kv_head_major = false);
/// The params of `h`'s tensors, pointers null: fixed_layout_params, and for its packed varlen
/// layout no batch strides and the longest sequence's lengths as q_len and kv_len.
GqaParams host_layout_params(const HostAttention& h, bool kv_head_major = false);

}  // namespace gqaforge::runtime
