// Decode family: the work of one CTA (sequence, KV head, split and row block, and its key
// range), and where a query row of a KV head lives in Q.
#pragma once

#include "common.cuh"

namespace gqf {
namespace decode {

/// What one CTA of the main kernel (grid: splits * row_blocks, n_kv_heads, batch) reads and
/// writes.
struct CtaWork {
  int b;  // sequence
  int kv_head;
  int split;      // key chunk of the sequence
  int row_block;  // share of the G*q_len query rows of the KV head
  int kv_len;     // keys of the sequence
  int n_active;   // splits holding at least one key
  int key_begin;  // first key of this split
  int key_end;    // one past the last key of this split

  /// Decodes the CTA's index; false when its split holds no key (then only the counts are set:
  /// a sequence without keys still has its rows written by split 0).
  template <typename L>
  __device__ __forceinline__ bool init(const GqaParams& p) {
    split = blockIdx.x / L::kRowBlocks;
    row_block = blockIdx.x - split * L::kRowBlocks;
    kv_head = blockIdx.y;
    b = blockIdx.z;
    kv_len = imax(0, p.kv_lens != nullptr ? p.kv_lens[b] : p.kv_len);  // no packed varlen in decode
    n_active = kv_len == 0 ? 0 : imin(p.num_splits, ceil_div(kv_len, p.split_len));
    if (split >= n_active) return false;
    key_begin = split * p.split_len;
    key_end = imin(kv_len, key_begin + p.split_len);
    return true;
  }
};

/// Row r of a KV head (0 <= r < G*q_len) is query token r / G, query head kv_head*G + r % G.
template <typename L>
__device__ __forceinline__ long long q_offset(const GqaParams& p, int b, int kv_head, int r) {
  const int t = r / L::kGroup, g = r - t * L::kGroup;
  return b * p.q_stride_b + t * p.q_stride_s + static_cast<long long>(kv_head * L::kGroup + g) * p.q_stride_h;
}

}  // namespace decode
}  // namespace gqf
