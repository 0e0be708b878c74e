// Reference attention on the GPU: plain and obviously correct, not fast. One CTA computes one
// (query token, query head, sequence) row with fp32 arithmetic and a chunked online softmax.
// It serves as the GPU-side oracle for shapes too large for the CPU reference, and is itself
// checked against the CPU fp64 oracle. Supports GQA, causal (bottom-right) and non-causal,
// per-sequence kv_lens and packed varlen sequences, and optional LSE.
#pragma once

#include "common.cuh"

namespace gqf {

constexpr int kRefThreads = 128;  // threads per CTA; one key per thread per chunk
constexpr int kRefMaxDims = 256;  // largest head dim

template <typename Traits>
__device__ void reference_row(const GqaParams& p) {
  typedef typename Traits::Element T;
  constexpr int D = Traits::kHeadDim;
  constexpr int kDimsPerThread = (D + kRefThreads - 1) / kRefThreads;
  __shared__ float q_s[D];
  __shared__ float p_s[kRefThreads];
  __shared__ float red_s[kRefThreads / 32];

  const int row = blockIdx.x;   // query token within the sequence
  const int head = blockIdx.y;  // query head
  const int b = blockIdx.z;     // sequence
  const int tid = threadIdx.x;
  const int kv_head = head / Traits::kGroup;

  // Sequence extents and token offsets (fixed or packed varlen).
  int q_len = p.q_len, kv_len = p.kv_len;
  long long q_tok0 = 0, k_tok0 = 0;
  long long q_base_b = (long long)b * p.q_stride_b, k_base_b = (long long)b * p.k_stride_b;
  long long v_base_b = (long long)b * p.v_stride_b, o_base_b = (long long)b * p.o_stride_b;
  if (p.cu_seqlens_q != nullptr) {
    q_tok0 = p.cu_seqlens_q[b];
    q_len = p.cu_seqlens_q[b + 1] - p.cu_seqlens_q[b];
    q_base_b = o_base_b = 0;
  }
  if (p.cu_seqlens_k != nullptr) {
    k_tok0 = p.cu_seqlens_k[b];
    kv_len = p.cu_seqlens_k[b + 1] - p.cu_seqlens_k[b];
    k_base_b = v_base_b = 0;
  } else if (p.kv_lens != nullptr) {
    kv_len = p.kv_lens[b];
  }
  if (row >= q_len) return;

  const T* q = static_cast<const T*>(p.q) + q_base_b + (q_tok0 + row) * p.q_stride_s + (long long)head * p.q_stride_h;
  const T* k = static_cast<const T*>(p.k) + k_base_b + k_tok0 * p.k_stride_s + (long long)kv_head * p.k_stride_h;
  const T* v = static_cast<const T*>(p.v) + v_base_b + k_tok0 * p.v_stride_s + (long long)kv_head * p.v_stride_h;
  T* o = static_cast<T*>(p.o) + o_base_b + (q_tok0 + row) * p.o_stride_s + (long long)head * p.o_stride_h;

  for (int d = tid; d < D; d += kRefThreads) q_s[d] = to_float(q[d]);
  // Keys visible to this row: all, or j <= row + (kv_len - q_len) when causal.
  int visible = kv_len;
  if (Traits::kCausal) visible = imax(0, imin(kv_len, row + 1 + kv_len - q_len));
  __syncthreads();

  const float scale_log2 = p.scale_log2;
  float running_max = neg_inf();  // in log2 units
  float running_sum = 0.0f;
  float acc[kDimsPerThread];
#pragma unroll
  for (int i = 0; i < kDimsPerThread; ++i) acc[i] = 0.0f;

  for (int chunk = 0; chunk < visible; chunk += kRefThreads) {
    int j = chunk + tid;
    float s = neg_inf();
    if (j < visible) {
      const T* kj = k + (long long)j * p.k_stride_s;
      float dot = 0.0f;
      for (int d = 0; d < D; ++d) dot += q_s[d] * to_float(kj[d]);
      s = dot * scale_log2;
    }
    // Block max of this chunk.
    float m = warp_max<32>(s);
    if ((tid & 31) == 0) red_s[tid / 32] = m;
    __syncthreads();
    float chunk_max = red_s[0];
    for (int w = 1; w < kRefThreads / 32; ++w) chunk_max = fmaxf(chunk_max, red_s[w]);
    __syncthreads();
    float new_max = fmaxf(running_max, chunk_max);
    float correction = running_max == neg_inf() ? 0.0f : exp2f(running_max - new_max);
    float pj = j < visible ? exp2f(s - new_max) : 0.0f;
    p_s[tid] = pj;
    float psum = warp_sum<32>(pj);
    __syncthreads();
    if ((tid & 31) == 0) red_s[tid / 32] = psum;
    __syncthreads();
    float chunk_sum = 0.0f;
    for (int w = 0; w < kRefThreads / 32; ++w) chunk_sum += red_s[w];
    running_sum = running_sum * correction + chunk_sum;
    running_max = new_max;
    int n = imin(kRefThreads, visible - chunk);
#pragma unroll
    for (int i = 0; i < kDimsPerThread; ++i) {
      int d = tid + i * kRefThreads;
      if (d < D) {
        float a = acc[i] * correction;
        for (int jj = 0; jj < n; ++jj) a += p_s[jj] * to_float(v[(long long)(chunk + jj) * p.v_stride_s + d]);
        acc[i] = a;
      }
    }
    __syncthreads();
  }

  float inv = running_sum > 0.0f ? 1.0f / running_sum : 0.0f;
#pragma unroll
  for (int i = 0; i < kDimsPerThread; ++i) {
    int d = tid + i * kRefThreads;
    if (d < D) o[d] = from_float<T>(acc[i] * inv);
  }
  if (p.lse != nullptr && tid == 0) {
    long long lse_row = p.cu_seqlens_q != nullptr ? q_tok0 + row : (long long)b * p.q_len + row;
    p.lse[lse_row * p.n_q_heads + head] = lse_from_log2(running_max, running_sum);
  }
}

}  // namespace gqf

#define GQF_REFERENCE_ENTRY_POINTS(Traits)                                                               \
  extern "C" __global__ void __launch_bounds__(gqf::kRefThreads) gqaforge_reference(const GqaParams p) { \
    gqf::reference_row<Traits>(p);                                                                       \
  }
