// Runtime entry points of the attention families: generate (codegen), compile and load (Jit),
// and launch on a stream. Tensors are described by GqaParams (see codegen/kernels/params.h).
#pragma once

#include "codegen/kernels/params.h"
#include "codegen/problem.h"
#include "runtime/jit.h"

namespace gqaforge::rt {

/// The GPU reference attention (the oracle for shapes too large for the CPU). The grid covers
/// params.q_len query tokens (the maximum for varlen batches).
Status reference_attention(Jit& jit, const AttentionProblem& problem, const GqaParams& params, CUstream stream);

}  // namespace gqaforge::rt

#include "codegen/decode_config.h"

namespace gqaforge::rt {

/// Split-KV scratch memory reused across decode calls. Reallocated (and its fused-combine
/// counters zeroed, on `stream`; the partials are left as they are) only when a launch needs
/// more bytes or a different layout.
/// The zeroing is stream-ordered: a later call on another stream must be ordered after it by
/// the caller.
class DecodeWorkspace {
 public:
  Status ensure(const DecodeLaunch& launch, int64_t batch, int n_kv_heads, CUstream stream);
  CUdeviceptr ptr() const { return buffer_.ptr(); }

 private:
  DeviceBuffer buffer_;
  std::string layout_;
};

/// The decode family: one step of q_len query tokens per sequence against the KV cache.
/// `params` describes the tensors (kv_lens may be null = kv_len for all); its split fields are
/// filled here. `config.num_splits == 0` picks the split count from the dynamic dims.
Status decode_attention(Jit& jit, const AttentionProblem& problem, const DecodeConfig& config,
                        const DeviceLimits& limits, GqaParams params, DecodeWorkspace& workspace,
                        CUstream stream);

}  // namespace gqaforge::rt

#include "codegen/prefill_config.h"

namespace gqaforge::rt {

/// The prefill family: every query token of every sequence against its keys. Varlen batches
/// are recognised by params.cu_seqlens_q != null (then params.q_len is the longest sequence).
Status prefill_attention(Jit& jit, const AttentionProblem& problem, const PrefillConfig& config,
                         const DeviceLimits& limits, const GqaParams& params, CUstream stream);

}  // namespace gqaforge::rt
