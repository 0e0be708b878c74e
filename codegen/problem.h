// AttentionProblem: what an attention call computes. The static dims (phase, heads, head dim,
// dtype, causal, and for decode the query tokens per step) select the generated kernel; the
// dynamic dims (batch, lengths) select a tuned entry and the launch grid.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace gqaforge::codegen {

enum class Phase { kPrefill, kDecode };
enum class DType { kBF16, kFP16 };

const char* phase_name(Phase p);
const char* dtype_name(DType d);
Result<Phase> parse_phase(const std::string& text);
Result<DType> parse_dtype(const std::string& text);
inline int dtype_bytes(DType) {
  return 2;
}

/// Head dims the generator supports.
inline constexpr int kSupportedHeadDims[] = {64, 96, 128, 256};
/// Largest number of query tokens per decode step (speculative decoding verifies several).
inline constexpr int kMaxDecodeQLen = 16;

struct AttentionProblem {
  Phase phase = Phase::kPrefill;
  int n_q_heads = 32;  // query heads
  int n_kv_heads = 8;  // key/value heads; n_q_heads % n_kv_heads == 0
  int head_dim = 128;  // head size of Q, K and V
  DType dtype = DType::kBF16;
  bool causal = true;  // bottom-right aligned when q_len != kv_len
  // Dynamic dims.
  int64_t batch = 1;      // sequences
  int64_t q_len = 1;      // query tokens per sequence
  int64_t kv_len = 4096;  // keys per sequence (the maximum when lengths vary)

  int group() const { return n_q_heads / n_kv_heads; }

  /// Checks heads, head dim and lengths; messages name the bad value.
  Status validate() const;

  /// Static part, canonical and fixed-order: selects the kernel.
  /// What a generated kernel depends on: phase, group size, head dim, dtype, mask (and q_len
  /// for decode). Head counts, batch and lengths are launch-time values, so problems that
  /// differ only in them share compiled kernels.
  std::string kernel_class() const;
  std::string static_key() const;
  /// Readable one-line description: "decode 32:8 d128 bf16 causal b1 q1 kv4k".
  std::string name() const;

  /// FLOPs of the two matmuls counting only visible (unmasked) scores: 4*B*Hq*D*visible.
  double flops() const;
  /// Bytes of K and V: what a memory-bound (decode) kernel must read at least once.
  double kv_bytes() const;
  /// Minimum bytes moved: Q, K, V read once, O written once.
  double min_bytes() const;
  /// Visible (query, key) pairs per head and sequence under the mask.
  double visible_pairs() const;
};

/// A problem from its fields (bf16 unless `dtype` says otherwise).
AttentionProblem make_problem(Phase phase, int n_q_heads, int n_kv_heads, int head_dim, DType dtype, bool causal,
                              int64_t batch, int64_t q_len, int64_t kv_len);

/// Parses "32:8" into query and KV heads (validating divisibility).
Status parse_heads(const std::string& text, int* n_q, int* n_kv);
/// The most query (and KV) heads parse_heads accepts.
inline constexpr int kMaxHeads = 1024;

}  // namespace gqaforge::codegen
