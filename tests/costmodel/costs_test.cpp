// The paper's cost formulas against hand-computed values, and the Z unit conventions.
#include "costmodel/costs.h"

#include <cmath>

#include <gtest/gtest.h>

#include "costmodel/objectives.h"
#include "costmodel/presets.h"

namespace gqaforge::costmodel {
namespace {

TEST(Costs, Llama32_1bAt128k) {
  auto presets = Presets::bundled();
  ASSERT_TRUE(presets.ok());
  CostShape s = cost_shape_of(*presets->find("llama-3.2-1b"));
  InferenceCost c = inference_cost(s, 131072, CostSettings{});
  EXPECT_DOUBLE_EQ(c.flops_invariant, 2.0 * 973146112);
  EXPECT_DOUBLE_EQ(c.flops_variant, 4.0 * 131072 * 16 * 64 * 32);  // 17,179,869,184
  EXPECT_DOUBLE_EQ(c.memory_invariant, 973146112.0);
  EXPECT_DOUBLE_EQ(c.memory_variant, 2.0 * 131072 * 16 * 64 * 8);  // 2,147,483,648
  EXPECT_DOUBLE_EQ(c.flops(), 2.0 * 973146112 + 17179869184.0);

  CostSettings with;
  with.count_embedding = true;
  InferenceCost e = inference_cost(s, 131072, with);
  EXPECT_DOUBLE_EQ(e.memory_invariant, 973146112.0 + 262668288.0);
  EXPECT_DOUBLE_EQ(e.flops_invariant, 2.0 * 973146112 + 2.0 * 2048 * 128256);
  EXPECT_DOUBLE_EQ(e.flops_variant, c.flops_variant);
}

TEST(Costs, SmallShapeByHand) {
  // L=2, d=64, H=(4,2), d_h=16, N=1000 (given), T=10.
  CostShape s;
  s.layers = 2;
  s.hidden = 64;
  s.n_heads = 4;
  s.n_kv_heads = 2;
  s.head_dim = 16;
  s.non_embedding_params = 1000;
  s.embedding_params = 6400;
  s.vocab = 100;
  InferenceCost c = inference_cost(s, 10, CostSettings{});
  EXPECT_DOUBLE_EQ(c.flops(), 2000 + 4 * 10 * 2 * 16 * 4);          // 7120
  EXPECT_DOUBLE_EQ(c.memory_values(), 1000 + 2 * 10 * 2 * 16 * 2);  // 2280
  TrainingCost t = training_cost(s, 100, 10);
  // Eq. 10 at the mean context T̄ = T / 2 = 5.
  EXPECT_DOUBLE_EQ(t.flops, 6.0 * 100 * (1000 + 2 * 2 * 5 * 16 * 4));  // 753,600
  EXPECT_DOUBLE_EQ(t.memory_values, 4000 + 10 * 64 * 2);
}

TEST(Costs, FormulaParamsMatchesTheLabels) {
  // MHA with SwiGLU and d_ff = 8d/3: 12 L d^2.
  EXPECT_DOUBLE_EQ(formula_params(36, 2048, 32, 32, 64), 12.0 * 36 * 2048 * 2048);
  // Decoupled heads: 2 d d_h (n_h + n_kv) per layer for attention.
  EXPECT_DOUBLE_EQ(formula_params(1, 256, 8, 1, 64), 2.0 * 256 * 64 * 9 + 8.0 * 256 * 256);
  // Two FFN matrices: 2 d d_ff.
  EXPECT_DOUBLE_EQ(formula_params(1, 300, 1, 1, 10, 2), 2.0 * 300 * 10 * 2 + 2.0 * 300 * 800);
}

TEST(Objectives, ZUnitConventions) {
  InferenceCost c;
  c.flops_invariant = 100;
  c.flops_variant = 300;
  c.memory_invariant = 40;
  c.memory_variant = 60;
  CostSettings cs;  // 2 bytes per value
  ZSettings z;
  z.units = ZUnits::kSequenceBytes;
  ZTerms t = z_terms(c, 1000, z, cs);
  EXPECT_DOUBLE_EQ(t.memory, 200);
  EXPECT_DOUBLE_EQ(t.compute, 400000);
  z.units = ZUnits::kSequenceHalfValues;
  t = z_terms(c, 1000, z, cs);
  EXPECT_DOUBLE_EQ(t.memory, 100);
  EXPECT_DOUBLE_EQ(t.compute, 200000);
  z.units = ZUnits::kTokenValues;
  t = z_terms(c, 1000, z, cs);
  EXPECT_DOUBLE_EQ(t.compute, 400);
  z.units = ZUnits::kSequenceMeanBytes;
  t = z_terms(c, 1000, z, cs);
  EXPECT_DOUBLE_EQ(t.compute, 1000 * (100 + 150));
  z.units = ZUnits::kSequenceBytes;
  EXPECT_NEAR(z_value(c, 1000, z, cs), 0.9 * std::sqrt(200.0) + 0.1 * std::cbrt(400000.0), 1e-9);
}

TEST(Objectives, ParsingNamesTheBadValue) {
  EXPECT_EQ(*parse_objective("Throughput"), Objective::kThroughput);
  EXPECT_NE(parse_objective("speed").status().message().find("'speed'"), std::string::npos);
  EXPECT_EQ(*parse_z_units("token-values"), ZUnits::kTokenValues);
  EXPECT_NE(parse_z_units("bytes").status().message().find("'bytes'"), std::string::npos);
}

}  // namespace
}  // namespace gqaforge::costmodel
