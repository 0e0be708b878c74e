// Aspect-ratio interpolation and the binary search on L.
#include "costmodel/shape_solver.h"

#include <algorithm>
#include <cmath>

namespace gqaforge::costmodel {

const char* ratio_interpolation_name(RatioInterpolation r) {
  return r == RatioInterpolation::kLogParams ? "log-params" : "params";
}

CostShape RealShape::cost_shape() const {
  CostShape c;
  c.layers = layers;
  c.hidden = hidden;
  c.n_heads = n_heads;
  c.n_kv_heads = n_kv_heads;
  c.head_dim = head_dim;
  c.non_embedding_params = params;
  c.embedding_params = hidden * vocab;
  c.vocab = vocab;
  return c;
}

double interpolate_ratio(const std::vector<AspectPoint>& table, double params, RatioInterpolation interpolation) {
  if (table.empty()) return 0;
  if (params <= table.front().params) return table.front().ratio();
  if (params >= table.back().params) return table.back().ratio();
  auto x_of = [&](double n) { return interpolation == RatioInterpolation::kLogParams ? std::log(n) : n; };
  for (size_t i = 0; i + 1 < table.size(); ++i) {
    const AspectPoint& lo = table[i];
    const AspectPoint& hi = table[i + 1];
    if (params <= hi.params) {
      double t = (x_of(params) - x_of(lo.params)) / (x_of(hi.params) - x_of(lo.params));
      return lo.ratio() + t * (hi.ratio() - lo.ratio());
    }
  }
  return table.back().ratio();
}

Result<RealShape> solve_shape(const std::vector<AspectPoint>& table, double params, double n_heads, double n_kv_heads,
                              double head_dim, const ShapeSettings& settings) {
  if (!(params > 0) || !std::isfinite(params)) {
    return invalid_argument("parameter budget {} must be positive and finite", params);
  }
  if (table.size() < 2) return invalid_argument("the aspect table needs at least 2 shapes");
  double ratio = interpolate_ratio(table, params, settings.interpolation);
  auto count = [&](double layers) {
    return formula_params(layers, ratio * layers, n_heads, n_kv_heads, head_dim, settings.ffn_matrices,
                          settings.ffn_ratio);
  };
  // count() is strictly increasing in L (cubic with positive coefficients): bracket, then bisect.
  double lo = 0, hi = 1;
  while (count(hi) < params) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    double mid = 0.5 * (lo + hi);
    (count(mid) < params ? lo : hi) = mid;
  }
  RealShape s;
  s.layers = 0.5 * (lo + hi);
  s.hidden = ratio * s.layers;
  s.ffn = settings.ffn_ratio * s.hidden;
  s.n_heads = n_heads;
  s.n_kv_heads = n_kv_heads;
  s.head_dim = head_dim;
  s.params = params;
  s.vocab = static_cast<double>(settings.vocab);
  return s;
}

ModelShape round_shape(const RealShape& shape, const ShapeSettings& settings) {
  ModelShape m;
  m.layers = std::max<int64_t>(1, std::llround(shape.layers));
  int64_t mult = std::max<int64_t>(1, settings.hidden_multiple);
  m.hidden = std::max<int64_t>(mult, std::llround(shape.hidden / static_cast<double>(mult)) * mult);
  m.n_heads = std::llround(shape.n_heads);
  m.n_kv_heads = std::llround(shape.n_kv_heads);
  m.head_dim = std::llround(shape.head_dim);
  int64_t fm = std::max<int64_t>(1, settings.ffn_multiple);
  // The multiple closest to ffn_ratio * d, as paper_ffn_size (App. D).
  double raw_ffn = settings.ffn_ratio * static_cast<double>(m.hidden);
  m.ffn = std::max<int64_t>(1, std::llround(raw_ffn / static_cast<double>(fm))) * fm;
  m.vocab = settings.vocab;
  m.tied_embeddings = true;
  m.ffn_matrices = settings.ffn_matrices;
  return m;
}

}  // namespace gqaforge::costmodel
