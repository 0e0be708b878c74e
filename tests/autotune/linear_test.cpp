// Linear-layer GEMM shapes: model GEMMs, explicit lists with clear errors, deduplication, and
// the database form.
#include <gtest/gtest.h>

#include "autotune/linear.h"

namespace gqaforge::autotune {
namespace {

TEST(Linear, ModelGemmsFollowTheBlock) {
  LinearDims d{4096, 32 * 128, 8 * 128, 14336, 128256};
  std::vector<GemmShape> g = model_gemms(d, 16);
  ASSERT_EQ(g.size(), 5u);
  EXPECT_EQ(g[0].name, "qkv");
  EXPECT_EQ(g[0].n, (32 + 2 * 8) * 128);
  EXPECT_EQ(g[0].k, 4096);
  EXPECT_EQ(g[1].n, 4096);
  EXPECT_EQ(g[1].k, 32 * 128);
  EXPECT_EQ(g[2].n, 14336);
  EXPECT_EQ(g[3].k, 14336);
  EXPECT_EQ(g[4].n, 128256);
  for (const GemmShape& s : g) EXPECT_EQ(s.m, 16);
  EXPECT_DOUBLE_EQ(gemm_flops(g[1]), 2.0 * 16 * 4096 * 4096);
}

TEST(Linear, ParsesListsAndNamesBadItems) {
  auto ok = parse_gemm_list("16x4096x4096, 4kx14336x4096");
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[1].m, 4096);
  for (const char* bad : {"16x4096", "16x0x4", "ax4x4", ""}) {
    auto r = parse_gemm_list(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_NE(parse_gemm_list("16x4096").status().message().find("'16x4096'"), std::string::npos);
}

TEST(Linear, DeduplicatesAndRecords) {
  std::vector<GemmShape> u = unique_gemms({{"o", 1, 4096, 4096}, {"x", 1, 4096, 4096}, {"down", 1, 4096, 14336}});
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].name, "o+x");
  ProblemRecord r = linear_problem_record(u[1]);
  EXPECT_EQ(r.family, "linear");
  EXPECT_EQ(r.gemm_m, 1);
  EXPECT_EQ(r.gemm_n, 4096);
  EXPECT_EQ(r.gemm_k, 14336);
  EXPECT_NE(linear_kernel_key(u[0], "env"), linear_kernel_key(u[1], "env"));
  EXPECT_NE(linear_kernel_key(u[0], "env"), linear_kernel_key(u[0], "other"));
}

}  // namespace
}  // namespace gqaforge::autotune
