// Shards: parsing with clear errors, and a partition that is disjoint and complete.
#include <gtest/gtest.h>

#include "autotune/family_space.h"
#include "autotune/shard.h"
#include "tests/autotune/test_util.h"

namespace gqaforge::autotune {
namespace {

TEST(Shard, ParsesAndRejectsWithTheValue) {
  auto s = parse_shard("2/8");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->index, 2);
  EXPECT_EQ(s->count, 8);
  EXPECT_EQ(s->label(), "2/8");
  for (const char* bad : {"3/2", "2/2", "-1/4", "1/0", "a/b", "12", "1/2/3", ""}) {
    auto r = parse_shard(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(std::string("'") + bad + "'"), std::string::npos);
    }
  }
}

TEST(Shard, PartitionIsDisjointAndComplete) {
  auto fs = make_family_space(testing::decode_problem(), codegen::DeviceLimits{});
  ASSERT_TRUE(fs.ok());
  std::vector<std::string> keys;
  for (const Point& p : fs->space.valid_points()) keys.push_back(fs->problem.name() + "|" + fs->config_text(p));
  for (int n : {1, 2, 3, 7}) {
    std::vector<int> owners(keys.size(), 0);
    for (int i = 0; i < n; ++i) {
      Shard s{i, n};
      int64_t mine = 0;
      for (size_t k = 0; k < keys.size(); ++k) {
        if (s.owns(keys[k])) {
          ++owners[k];
          ++mine;
        }
      }
      if (n > 1) {
        EXPECT_GT(mine, 0) << i << "/" << n;  // hashing spreads the work
      }
    }
    for (int o : owners) EXPECT_EQ(o, 1);
  }
  // Deterministic: the same key always lands in the same shard.
  EXPECT_EQ(shard_hash("abc"), shard_hash("abc"));
  EXPECT_NE(shard_hash("abc"), shard_hash("abd"));
}

}  // namespace
}  // namespace gqaforge::autotune
