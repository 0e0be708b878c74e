// Analytical cost formulas of the paper.
#include "costmodel/costs.h"

namespace gqaforge::costmodel {

CostShape cost_shape_of(const ModelShape& shape) {
  CostShape c;
  c.layers = static_cast<double>(shape.layers);
  c.hidden = static_cast<double>(shape.hidden);
  c.n_heads = static_cast<double>(shape.n_heads);
  c.n_kv_heads = static_cast<double>(shape.n_kv_heads);
  c.head_dim = static_cast<double>(shape.head_dim);
  c.non_embedding_params = static_cast<double>(shape.non_embedding_params());
  c.embedding_params = static_cast<double>(shape.embedding_params());
  c.vocab = static_cast<double>(shape.vocab);
  return c;
}

InferenceCost inference_cost(const CostShape& s, double context, const CostSettings& settings) {
  InferenceCost c;
  double n = s.non_embedding_params + (settings.count_embedding ? s.embedding_params : 0.0);
  c.flops_invariant = 2.0 * s.non_embedding_params + (settings.count_embedding ? 2.0 * s.hidden * s.vocab : 0.0);
  c.flops_variant = 4.0 * context * s.layers * s.head_dim * s.n_heads;
  c.memory_invariant = n;
  c.memory_variant = 2.0 * context * s.layers * s.head_dim * s.n_kv_heads;
  return c;
}

TrainingCost training_cost(const CostShape& s, double tokens, double context) {
  TrainingCost t;
  const double mean_context = 0.5 * context;  // T̄ of eq. 10
  t.flops = 6.0 * tokens * (s.non_embedding_params + 2.0 * s.layers * mean_context * s.head_dim * s.n_heads);
  t.memory_values = 4.0 * s.non_embedding_params + context * s.hidden * s.layers;
  return t;
}

double formula_params(double layers, double hidden, double n_heads, double n_kv_heads, double head_dim,
                      int ffn_matrices, double ffn_ratio) {
  double attention = 2.0 * hidden * head_dim * (n_heads + n_kv_heads);
  double ffn = static_cast<double>(ffn_matrices) * hidden * (ffn_ratio * hidden);
  return layers * (attention + ffn);
}

}  // namespace gqaforge::costmodel
