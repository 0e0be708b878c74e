// Search spaces: enumeration, named constraints, text round trips, neighbours, and the family
// spaces built from the config structs (every valid point passes config.validate).
#include <gtest/gtest.h>

#include <set>

#include "autotune/family_space.h"
#include "codegen/decode_config.h"
#include "codegen/prefill_config.h"
#include "tests/autotune/test_util.h"

namespace gqaforge::autotune {

using codegen::DeviceLimits;
using codegen::find_family;
using codegen::KernelConfig;

namespace {

SearchSpace small_space() {
  SearchSpace s;
  s.add_param("a", {1, 2, 4});
  s.add_param("b", {8, 16});
  s.add_param("c", {0, 1});
  s.add_constraint("a_times_b_at_most_32", [](const PointValues& v) { return v["a"] * v["b"] <= 32; });
  s.add_constraint("c_needs_a_above_1", [](const PointValues& v) { return v["c"] == 0 || v["a"] > 1; });
  return s;
}

TEST(SearchSpace, EnumeratesTheProductInMixedRadixOrder) {
  SearchSpace s = small_space();
  EXPECT_EQ(s.cartesian_size(), 12);
  std::set<Point> seen;
  for (int64_t i = 0; i < s.cartesian_size(); ++i) {
    Point p = s.point_at(i);
    EXPECT_EQ(s.index_of(p), i);
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 12u);
  EXPECT_EQ(s.point_at(0), (Point{0, 0, 0}));
  EXPECT_EQ(s.point_at(1), (Point{0, 0, 1}));  // last parameter fastest
  EXPECT_EQ(s.value(s.point_at(11), "a"), 4);
}

TEST(SearchSpace, NamedConstraintsSayWhichRuleRejects) {
  SearchSpace s = small_space();
  EXPECT_EQ(s.violated(*s.point_from_text("a=4,b=16,c=0")), "a_times_b_at_most_32");
  EXPECT_EQ(s.violated(*s.point_from_text("a=1,b=8,c=1")), "c_needs_a_above_1");
  EXPECT_FALSE(s.violated(*s.point_from_text("a=2,b=16,c=1")).has_value());
  std::map<std::string, int64_t> rejections;
  std::vector<Point> valid = s.valid_points(&rejections);
  // a=4,b=16 (c=0/1) break the first rule; a=1,c=1 (b=8/16) the second.
  EXPECT_EQ(rejections["a_times_b_at_most_32"], 2);
  EXPECT_EQ(rejections["c_needs_a_above_1"], 2);
  EXPECT_EQ(valid.size(), 8u);
  for (const Point& p : valid) EXPECT_TRUE(s.valid(p));
}

TEST(SearchSpace, ConfigTextRoundTrips) {
  SearchSpace s = small_space();
  for (int64_t i = 0; i < s.cartesian_size(); ++i) {
    Point p = s.point_at(i);
    EXPECT_EQ(s.point_from_text(s.config_text(p)), p);
  }
  EXPECT_EQ(s.config_text(Point{1, 1, 0}), "a=2,b=16,c=0");
  EXPECT_FALSE(s.point_from_text("a=3,b=8,c=0").has_value());      // 3 is not a value of a
  EXPECT_FALSE(s.point_from_text("a=2,b=8").has_value());          // c missing
  EXPECT_FALSE(s.point_from_text("a=2,b=8,c=0,z=1").has_value());  // unknown key
  EXPECT_TRUE(s.point_from_text("a=2,b=8,c=0,z=1", true).has_value());
}

TEST(SearchSpace, NeighboursChangeOneParameterToAnAdjacentValue) {
  SearchSpace s = small_space();
  std::vector<Point> valid = s.valid_points();
  const Point center = *s.point_from_text("a=2,b=8,c=0");
  std::vector<Point> n = neighbours(s, valid, center);
  std::set<std::string> texts;
  for (const Point& p : n) {
    EXPECT_TRUE(s.valid(p));
    EXPECT_NE(p, center);
    texts.insert(s.config_text(p));
  }
  EXPECT_EQ(texts, (std::set<std::string>{"a=1,b=8,c=0", "a=4,b=8,c=0", "a=2,b=16,c=0", "a=2,b=8,c=1"}));
  // a=1 with c=1 is invalid: the move to a=1 from (2,8,1) is repaired to the nearest valid point.
  std::vector<Point> n2 = neighbours(s, valid, *s.point_from_text("a=2,b=8,c=1"));
  bool repaired = false;
  for (const Point& p : n2) repaired = repaired || s.config_text(p) == "a=1,b=8,c=0";
  EXPECT_TRUE(repaired);
}

TEST(FamilySpace, DecodeSpaceHoldsOnlyConfigsTheValidatorAccepts) {
  const DeviceLimits limits;
  for (const codegen::AttentionProblem& p : {testing::decode_problem(32, 8, 128), testing::decode_problem(8, 1, 64),
                                             testing::decode_problem(16, 2, 256, 4, 4096)}) {
    auto fs = make_family_space(p, limits);
    ASSERT_TRUE(fs.ok()) << fs.status().to_string();
    EXPECT_STREQ(fs->family->name(), "decode");
    std::map<std::string, int64_t> rejections;
    std::vector<Point> valid = fs->space.valid_points(&rejections);
    ASSERT_GT(valid.size(), 20u) << p.name();
    EXPECT_GT(rejections["warps_m_divides_warps"], 0);
    EXPECT_GT(rejections["mma_keys_per_warp_multiple_of_16"], 0);
    for (const Point& pt : valid) {
      auto c = codegen::DecodeConfig::parse(fs->config_text(pt), codegen::DecodeConfig{});
      ASSERT_TRUE(c.ok());
      EXPECT_EQ(KernelConfig(*c), fs->config(pt)) << "the text round-trips the typed config";
      EXPECT_EQ(fs->point_of(*c), pt);
      EXPECT_TRUE(c->validate(p, limits).ok()) << fs->config_text(pt);
      EXPECT_TRUE(std::isfinite(fs->predict_us(pt))) << fs->config_text(pt);
    }
    EXPECT_EQ(fs->default_config, KernelConfig(codegen::default_decode_config(p, limits)));
  }
}

TEST(FamilySpace, PrefillSpaceHoldsOnlyConfigsTheValidatorAccepts) {
  const DeviceLimits limits;
  for (const codegen::AttentionProblem& p : {testing::prefill_problem(32, 8, 128), testing::prefill_problem(8, 8, 64),
                                             testing::prefill_problem(16, 2, 256, 1, 4096)}) {
    auto fs = make_family_space(p, limits);
    ASSERT_TRUE(fs.ok()) << fs.status().to_string();
    std::map<std::string, int64_t> rejections;
    std::vector<Point> valid = fs->space.valid_points(&rejections);
    ASSERT_GT(valid.size(), 4u) << p.name();
    EXPECT_GT(rejections["block_m_is_16_warps_k"], 0);
    for (const Point& pt : valid) {
      auto c = codegen::PrefillConfig::parse(fs->config_text(pt), codegen::PrefillConfig{});
      ASSERT_TRUE(c.ok());
      EXPECT_EQ(KernelConfig(*c), fs->config(pt)) << "the text round-trips the typed config";
      EXPECT_TRUE(c->validate(p, limits).ok()) << fs->config_text(pt);
      if (p.group() == 1) {
        EXPECT_FALSE(c->pack_gqa);
      }
    }
  }
  // The register budget removes big tiles at head dim 256 through the device-limit check.
  auto fs = make_family_space(testing::prefill_problem(16, 2, 256), limits);
  std::map<std::string, int64_t> rejections;
  fs->space.valid_points(&rejections);
  EXPECT_GT(rejections["device_limits"], 0);
}

TEST(FamilySpace, ConfigureValidatesAndNamesTheValue) {
  const DeviceLimits limits;
  auto decode = find_family("decode");
  ASSERT_TRUE(decode.ok());
  auto ok = (*decode)->configure(testing::decode_problem(), "block_n=64,warps=4", limits);
  ASSERT_TRUE(ok.ok());
  EXPECT_NE((*decode)->canonical(*ok).find("block_n=64"), std::string::npos);
  auto bad = (*decode)->configure(testing::decode_problem(), "block_n=48", limits);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "block_n=48 must be 16, 32, 64, 128 or 256");
  auto unknown = find_family("sideways");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "unknown kernel family 'sideways' (expected decode, prefill, reference, cpu_decode or cpu_prefill)");
}

TEST(FamilySpace, OnlyTheTunedFamiliesHaveASpace) {
  for (const codegen::KernelFamily* f : codegen::kernel_families()) {
    EXPECT_EQ(find_tuning(*f).ok(), f->phase().has_value()) << f->name();
  }
  auto reference = find_family("reference");
  ASSERT_TRUE(reference.ok());
  EXPECT_EQ(find_tuning(**reference).status().message(), "the reference family has nothing to tune");
}

}  // namespace
}  // namespace gqaforge::autotune
