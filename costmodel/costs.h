// The paper's analytical costs (Table 2, eqs. 3-4, App. C): per-token inference FLOPs and
// memory split into time-invariant (weights) and time-variant (KV cache, attention) parts,
// per-sequence totals, and training costs. Everything is real-valued so that the search can
// cost the continuous shapes it solves for before rounding.
#pragma once

#include <cstdint>

#include "costmodel/model_shape.h"

namespace gqaforge::costmodel {

/// The dimensions the cost formulas need, real-valued.
struct CostShape {
  double layers = 0;                // L
  double hidden = 0;                // d
  double n_heads = 0;               // n_h
  double n_kv_heads = 0;            // n_kv
  double head_dim = 64;             // d_h
  double non_embedding_params = 0;  // N
  double embedding_params = 0;      // input embedding (+ untied output head)
  double vocab = 50304;             // V
};

/// Exact counts of an integer model as a CostShape.
CostShape cost_shape_of(const ModelShape& shape);

/// Conventions the paper leaves open.
struct CostSettings {
  double bytes_per_value = 2;    // bf16 weights and KV cache
  bool count_embedding = false;  // add embedding params to M and the output head (2dV) to C
};

/// One decoded token at context T (eqs. 3-4), split by time dependence.
struct InferenceCost {
  double flops_invariant = 0;   // 2N (+ 2dV with count_embedding)
  double flops_variant = 0;     // 4 T L d_h n_h: attention scores and weighted sum
  double memory_invariant = 0;  // N (+ embedding) values: the weights
  double memory_variant = 0;    // 2 T L d_h n_kv values: the KV cache

  double flops() const { return flops_invariant + flops_variant; }
  double memory_values() const { return memory_invariant + memory_variant; }
};

/// C_infer(T) and M_infer(T) for one token decoded with `context` tokens of history.
InferenceCost inference_cost(const CostShape& shape, double context, const CostSettings& settings);

/// Training cost (App. C, eqs. 10-11) for `tokens` training tokens D on sequences of `context`
/// tokens T: C_train = 6 D (N + 2 L T̄ d_h n_h) FLOPs with the mean context T̄ = T / 2 (a causal
/// token attends to T / 2 earlier tokens on average, so the function halves T itself), and
/// M_train = 4N + T d L values (weights, gradients and optimizer state, plus the activations of
/// a whole T-token sequence, which use T).
struct TrainingCost {
  double flops = 0;
  double memory_values = 0;
};
TrainingCost training_cost(const CostShape& shape, double tokens, double context);

/// Real-valued non-embedding parameter count of the paper's formula (Table 2, no norms):
/// L (2 d d_h (n_h + n_kv) + m d d_ff) with d_ff = ffn_ratio * d and m FFN matrices.
double formula_params(double layers, double hidden, double n_heads, double n_kv_heads, double head_dim,
                      int ffn_matrices = 3, double ffn_ratio = 8.0 / 3.0);

}  // namespace gqaforge::costmodel
