// Aspect-ratio interpolation, the binary search on L, and rounding.
#include "costmodel/shape_solver.h"

#include <cmath>

#include <gtest/gtest.h>

namespace gqaforge::costmodel {
namespace {

std::vector<AspectPoint> table() {
  auto p = Presets::bundled();
  EXPECT_TRUE(p.ok());
  return p->aspect_table();
}

TEST(ShapeSolver, RecoversThePredefinedShapes) {
  for (const AspectPoint& row : table()) {
    double heads = row.hidden / 64;
    auto s = solve_shape(table(), row.params, heads, heads, 64, ShapeSettings{});
    ASSERT_TRUE(s.ok());
    EXPECT_NEAR(s->layers, row.layers, 1e-6 * row.layers) << row.name;
    EXPECT_NEAR(s->hidden, row.hidden, 1e-6 * row.hidden) << row.name;
  }
}

TEST(ShapeSolver, InterpolatesInLogOrLinearParams) {
  auto t = table();
  // Between 1.2B (36, 1536; ratio 42.67) and 1.8B (36, 2048; ratio 56.89).
  const AspectPoint& lo = t[7];
  const AspectPoint& hi = t[8];
  ASSERT_EQ(lo.label, "1.2B");
  double geo = std::sqrt(lo.params * hi.params);
  EXPECT_NEAR(interpolate_ratio(t, geo, RatioInterpolation::kLogParams), 0.5 * (lo.ratio() + hi.ratio()), 1e-9);
  double mid = 0.5 * (lo.params + hi.params);
  EXPECT_NEAR(interpolate_ratio(t, mid, RatioInterpolation::kParams), 0.5 * (lo.ratio() + hi.ratio()), 1e-9);
  // Clamped outside the table.
  EXPECT_DOUBLE_EQ(interpolate_ratio(t, 1.0, RatioInterpolation::kLogParams), t.front().ratio());
  EXPECT_DOUBLE_EQ(interpolate_ratio(t, 1e15, RatioInterpolation::kLogParams), t.back().ratio());
}

TEST(ShapeSolver, SolvedShapeHasTheBudget) {
  for (double n : {5e6, 3e8, 1.8e9, 2.2e10, 1e11}) {
    auto s = solve_shape(table(), n, 8, 1, 64, ShapeSettings{});
    ASSERT_TRUE(s.ok());
    EXPECT_NEAR(formula_params(s->layers, s->hidden, 8, 1, 64), n, 1e-9 * n);
    EXPECT_NEAR(s->hidden / s->layers, interpolate_ratio(table(), n, RatioInterpolation::kLogParams), 1e-9);
  }
}

TEST(ShapeSolver, FewerHeadsMeanADeeperModelAtEqualBudget) {
  auto mha = solve_shape(table(), 1.8e9, 32, 32, 64, ShapeSettings{});
  auto mqa = solve_shape(table(), 1.8e9, 8, 1, 64, ShapeSettings{});
  ASSERT_TRUE(mha.ok() && mqa.ok());
  EXPECT_GT(mqa->layers, mha->layers);
}

TEST(ShapeSolver, RejectsBadBudgets) {
  EXPECT_NE(solve_shape(table(), -1, 8, 1, 64, ShapeSettings{}).status().message().find("-1"), std::string::npos);
  EXPECT_FALSE(solve_shape(table(), NAN, 8, 1, 64, ShapeSettings{}).ok());
  EXPECT_FALSE(solve_shape({}, 1e9, 8, 1, 64, ShapeSettings{}).ok());
}

TEST(ShapeSolver, RoundsToAnIntegerModel) {
  RealShape r;
  r.layers = 41.6;
  r.hidden = 2367.0;
  r.n_heads = 8;
  r.n_kv_heads = 1;
  r.head_dim = 64;
  ModelShape m = round_shape(r, ShapeSettings{});
  EXPECT_EQ(m.layers, 42);
  EXPECT_EQ(m.hidden, 2368);  // nearest multiple of 64
  EXPECT_EQ(m.ffn, 6304);     // 8 * 2368 / 3 = 6314.7 -> the closest multiple of 32 (6336 is farther)
  EXPECT_EQ(m.n_heads, 8);
  EXPECT_EQ(m.n_kv_heads, 1);
  EXPECT_TRUE(m.validate().ok());
}

}  // namespace
}  // namespace gqaforge::costmodel
