// Runtime entry points of the attention families: generate (codegen), compile and load (Jit),
// and launch on a stream. Tensors are described by GqaParams (see codegen/kernels/params.h).
// Each entry point is the family's launch plan run by launch_family (runtime/attention_op.h).
#pragma once

#include "codegen/decode_config.h"
#include "codegen/family.h"
#include "codegen/kernels/params.h"
#include "codegen/prefill_config.h"
#include "codegen/problem.h"
#include "runtime/jit.h"

namespace gqaforge::runtime {

/// Scratch memory reused across calls (split-KV partials). Reallocated only when a launch needs
/// more bytes, and its zeroed range (the fused-combine counters) zeroed on `stream` only when
/// the layout changes; the partials are left as they are.
/// The zeroing is stream-ordered: a later call on another stream must be ordered after it by
/// the caller.
class Workspace {
 public:
  Status ensure(const codegen::WorkspacePlan& plan, CUstream stream);
  CUdeviceptr ptr() const { return buffer_.ptr(); }

 private:
  DeviceBuffer buffer_;
  std::string layout_;
};

/// The GPU reference attention (the oracle for shapes too large for the CPU). The grid covers
/// params.q_len query tokens (the maximum for varlen batches).
Status reference_attention(Jit& jit, const codegen::AttentionProblem& problem, const GqaParams& params,
                           CUstream stream);

/// The decode family: one step of q_len query tokens per sequence against the KV cache.
/// `params` describes the tensors (kv_lens may be null = kv_len for all); its split fields are
/// filled here. `config.num_splits == 0` picks the split count from the dynamic dims.
Status decode_attention(Jit& jit, const codegen::AttentionProblem& problem, const codegen::DecodeConfig& config,
                        const codegen::DeviceLimits& limits, GqaParams params, Workspace& workspace, CUstream stream);

/// The prefill family: every query token of every sequence against its keys. Varlen batches
/// are recognised by params.cu_seqlens_q != null (then params.q_len is the longest sequence).
Status prefill_attention(Jit& jit, const codegen::AttentionProblem& problem, const codegen::PrefillConfig& config,
                         const codegen::DeviceLimits& limits, const GqaParams& params, CUstream stream);

}  // namespace gqaforge::runtime
