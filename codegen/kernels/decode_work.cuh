// Decode family: the work of one CTA (sequence, KV head, split and row block, and its key
// range), and where a query row of a KV head lives in Q.
#pragma once

#include "common.cuh"

namespace gqf {
namespace decode {

// ---------------------------------------------------------------------------------------------
// Per-CTA context: where this CTA reads and writes.
// ---------------------------------------------------------------------------------------------
struct Cta {
  int b, kvh, split, rb;
  int n;           // keys of the sequence
  int n_active;    // splits holding at least one key
  int key_begin;   // first key of this split
  int key_end;     // one past the last key of this split
};

/// Row r of a KV head (0 <= r < G*q_len) is query token r / G, query head kvh*G + r % G.
template <class C>
__device__ __forceinline__ long long q_offset(const GqaParams& p, int b, int kvh, int r) {
  const int t = r / C::kG, g = r - t * C::kG;
  return b * p.q_stride_b + t * p.q_stride_s + static_cast<long long>(kvh * C::kG + g) * p.q_stride_h;
}

}  // namespace decode
}  // namespace gqf
