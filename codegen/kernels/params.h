// Kernel parameters shared by the host (runtime/) and the generated device code (NVRTC).
//
// One plain struct for every attention family, passed by value as the single kernel argument.
// Only fixed-size types, so the host and device layouts are identical. Strides are in
// elements. Tensors:
//   Q   [batch, q_len, n_q_heads, head_dim]   (or packed tokens with cu_seqlens_q)
//   K,V [batch, capacity, n_kv_heads, head_dim] with explicit strides (any layout)
//   O   like Q; LSE fp32 [batch, q_len, n_q_heads] (packed: [total_q, n_q_heads]), natural log,
//       -inf for a query row that sees no key.
// Causal masks are bottom-right aligned: query i of a sequence with q rows and k keys sees
// keys j <= i + (k - q).
#pragma once

struct GqaParams {
  const void* q;                                 // Q base pointer (bf16 or fp16)
  const void* k;                                 // K base pointer
  const void* v;                                 // V base pointer
  void* o;                                       // O base pointer
  float* lse;                                    // optional LSE output, may be null
  float* o_partial;                              // split-KV workspace [splits, batch, q_len, n_q, head_dim] fp32
  float* lse_partial;                            // split-KV workspace [splits, batch, q_len, n_q] fp32
  const int* kv_lens;                            // optional per-sequence key counts [batch]; null -> kv_len
  const int* cu_seqlens_q;                       // optional varlen prefix sums [batch + 1]; null -> fixed q_len
  const int* cu_seqlens_k;                       // optional varlen prefix sums [batch + 1]; null -> fixed kv_len
  long long q_stride_b, q_stride_s, q_stride_h;  // element strides of Q (batch, token, head)
  long long k_stride_b, k_stride_s, k_stride_h;  // element strides of K
  long long v_stride_b, v_stride_s, v_stride_h;  // element strides of V
  long long o_stride_b, o_stride_s, o_stride_h;  // element strides of O
  int batch;                                     // sequences
  int q_len;                                     // query tokens per sequence (max over the batch for varlen)
  int kv_len;                                    // keys per sequence (max over the batch for kv_lens/varlen)
  int n_q_heads;                                 // query heads
  int n_kv_heads;                                // key/value heads
  int num_splits;                                // split-KV: number of key chunks per (sequence, KV head)
  int split_len;                                 // split-KV: keys per chunk (multiple of the KV tile)
  float scale_log2;                              // softmax scale * log2(e)
};

/// Tensor maps (CUtensorMap, 128 opaque bytes each) of K and V for the decode kernels that copy
/// their K/V tiles with TMA: rank 4 (head_dim, keys, KV heads, batch), boxes of 64 elements x
/// kBlockN keys x 1 x 1, 128-byte swizzle. The host encodes them per call from the pointers and
/// strides of GqaParams (runtime::encode_kv_maps) and passes them as the kernel's second argument.
struct KvTensorMaps {
  alignas(64) unsigned long long k[16];
  alignas(64) unsigned long long v[16];
};
