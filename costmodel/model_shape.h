// ModelShape: the dimensions of a decoder-only GQA transformer and its exact parameter count
// (embedding and non-embedding separately). This is the integer "real model" description used
// by presets, `gqaforge cost` and the rounded result of the search.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace gqaforge::costmodel {

/// A transformer's dimensions. n_heads * head_dim need not equal hidden (the paper's Change 1).
struct ModelShape {
  std::string name;             // preset name or "" for ad-hoc shapes
  int64_t layers = 0;           // L, decoder blocks
  int64_t hidden = 0;           // d, residual width
  int64_t n_heads = 0;          // n_h, query heads
  int64_t n_kv_heads = 0;       // n_kv, key/value heads (divides n_heads)
  int64_t head_dim = 64;        // d_h, per-head size of q, k and v
  int64_t ffn = 0;              // d_ff, FFN inner size
  int64_t vocab = 50304;        // V, vocabulary size
  bool tied_embeddings = true;  // output head shares the input embedding matrix
  int ffn_matrices = 3;         // 3 = SwiGLU (gate, up, down), 2 = classic two-matrix MLP
  bool qkv_bias = false;        // biases on the Q, K, V projections (Qwen2.5)
  bool count_norms = true;      // count RMSNorm weights (2 per layer + final) in the exact count

  /// Checks positivity, n_kv_heads | n_heads, ffn_matrices in {2, 3}; errors name the field.
  Status validate() const;

  /// Parameters of one decoder block (projections, FFN, norms, biases).
  int64_t params_per_layer() const;
  /// All non-embedding parameters: layers * params_per_layer + final norm.
  int64_t non_embedding_params() const;
  /// Input embedding, plus the output head when it is not tied.
  int64_t embedding_params() const;
  /// non_embedding_params() + embedding_params().
  int64_t total_params() const;
  /// n_heads / n_kv_heads.
  int64_t group_size() const { return n_kv_heads > 0 ? n_heads / n_kv_heads : 0; }

  /// "L=16 d=2048 H=(32,8) d_h=64 d_ff=8192 V=128256 tied".
  std::string describe() const;
};

/// The paper's FFN size for hidden size d (App. D): the multiple of `multiple` closest to 8d/3
/// (a tie rounds up; never below one multiple).
int64_t paper_ffn_size(int64_t hidden, int64_t multiple = 32);

/// Parses "32:8" (query heads : kv heads) into its two counts; errors name the text.
Status parse_head_pair(const std::string& text, int64_t& n_heads, int64_t& n_kv_heads);

}  // namespace gqaforge::costmodel
