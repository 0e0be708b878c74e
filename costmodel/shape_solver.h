// Shape solving (App. B.1): turns a parameter budget N for a head configuration into a model
// shape by interpolating the aspect ratio d/L between the paper's predefined shapes and
// binary-searching L. The real-valued shape is what the search costs; `round_shape` gives
// the integer model reported at the end.
#pragma once

#include <vector>

#include "costmodel/costs.h"
#include "costmodel/model_shape.h"
#include "costmodel/presets.h"

namespace gqaforge::costmodel {

/// How the aspect ratio is interpolated between table rows (the paper does not say).
enum class RatioInterpolation {
  kLogParams,  // piecewise linear in log N (default: the table is roughly geometric in N)
  kParams,     // piecewise linear in N
};

const char* ratio_interpolation_name(RatioInterpolation r);

/// Settings of the solver and of the architecture family being solved for.
struct ShapeSettings {
  RatioInterpolation interpolation = RatioInterpolation::kLogParams;
  int ffn_matrices = 3;          // SwiGLU
  double ffn_ratio = 8.0 / 3.0;  // d_ff / d
  int64_t vocab = 50304;         // for embedding counts and rounding
  int64_t hidden_multiple = 64;  // rounding: d is a multiple of this
  int64_t ffn_multiple = 32;     // rounding: d_ff is the multiple of this closest to ffn_ratio * d
};

/// A continuous shape: what the search costs.
struct RealShape {
  double layers = 0;
  double hidden = 0;
  double ffn = 0;
  double n_heads = 0;
  double n_kv_heads = 0;
  double head_dim = 64;
  double params = 0;  // non-embedding N (formula, no norms)
  double vocab = 50304;

  CostShape cost_shape() const;
};

/// Aspect ratio d/L for a budget of `params` non-embedding parameters; clamped to the end
/// rows outside the table.
double interpolate_ratio(const std::vector<AspectPoint>& table, double params, RatioInterpolation interpolation);

/// Solves L (and d = ratio * L) so that formula_params(L, d, H) = params. Errors: params not
/// positive/finite, or a table with fewer than 2 rows.
Result<RealShape> solve_shape(const std::vector<AspectPoint>& table, double params, double n_heads, double n_kv_heads,
                              double head_dim, const ShapeSettings& settings);

/// Rounds a solved shape to an integer model: L to the nearest integer (>= 1), d to the
/// nearest multiple of hidden_multiple, d_ff = ffn_ratio d to the nearest multiple of ffn_multiple.
ModelShape round_shape(const RealShape& shape, const ShapeSettings& settings);

}  // namespace gqaforge::costmodel
