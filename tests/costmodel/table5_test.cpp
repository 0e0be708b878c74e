// The paper's Table 5 on the bundled H200 measurements: the two models and the ratio of their
// batch-1 128K prompt throughputs.
#include "costmodel/table5.h"

#include <gtest/gtest.h>

#include "costmodel/load_measurements.h"

namespace gqaforge::costmodel {
namespace {

// The ratio the bundled H200 rows (data/h200-tuned.tsv) give: prefill at 128K and the GEMMs at
// 128K tokens are measured (run 20a), so nothing in either model is extrapolated. When the
// bundled measurements change, update this value (and docs/costmodel.md) to what
// `gqaforge search --table5` then prints.
constexpr double kBundledH200Ratio = 2.66;
constexpr double kTolerance = 0.02;

TEST(Table5, TheBundledH200DataGivesThePinnedRatio) {
  auto loaded = bundled_measurements();
  if (!loaded.ok()) GTEST_SKIP() << "no bundled measurements in this build";
  MeasuredSettings settings;
  settings.gpu_memory_bytes = loaded->gpu_memory_bytes;
  auto measured = MeasuredCosts::build(loaded->rows, settings);
  ASSERT_TRUE(measured.ok()) << measured.status().to_string();
  auto presets = Presets::bundled();
  ASSERT_TRUE(presets.ok());
  auto c = check_table5(presets->aspect_table(), ShapeSettings{}, *measured);
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  // (32,8) at the paper's 1.2B shape; (8,1) solved at the 1.8B size.
  EXPECT_EQ(c->gqa.shape.layers, 36);
  EXPECT_EQ(c->gqa.shape.hidden, 1536);
  EXPECT_EQ(c->gqa.shape.ffn, 4096);
  EXPECT_EQ(c->gqa.heads, (HeadConfig{32, 8}));
  EXPECT_EQ(c->small.heads, (HeadConfig{8, 1}));
  EXPECT_NEAR(c->small.non_embedding_params, 1.8e9, 0.1e9);
  EXPECT_EQ(c->gqa.prompt.batch, 1);
  EXPECT_EQ(c->gqa.prompt.tokens, 131072);
  EXPECT_NEAR(c->paper_ratio, 20643.0 / 12921.0, 1e-12);
  EXPECT_NEAR(c->ratio, kBundledH200Ratio, kTolerance)
      << "(8,1) " << c->small.tokens_per_s() << " tokens/s, (32,8) " << c->gqa.tokens_per_s() << " tokens/s";
  EXPECT_NEAR(c->gqa.attention_share() + c->gqa.linear_share() + c->gqa.other_share(), 1.0, 1e-12);
  EXPECT_FALSE(c->reasons.empty());
}

TEST(Table5, NeedsThePaperShapes) {
  auto loaded = bundled_measurements();
  if (!loaded.ok()) GTEST_SKIP() << "no bundled measurements in this build";
  auto measured = MeasuredCosts::build(loaded->rows);
  ASSERT_TRUE(measured.ok());
  std::vector<AspectPoint> table = {{"a", "1M", 4, 256, 12.0 * 4 * 256 * 256},
                                    {"b", "2M", 6, 512, 12.0 * 6 * 512 * 512}};
  auto c = check_table5(table, ShapeSettings{}, *measured);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("1.2B and 1.8B"), std::string::npos);
}

}  // namespace
}  // namespace gqaforge::costmodel
