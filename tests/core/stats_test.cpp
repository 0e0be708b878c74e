// Summary statistics of timing samples.
#include <gtest/gtest.h>

#include "core/stats.h"

namespace gqaforge {
namespace {

TEST(SampleStats, MedianExtremesAndSpread) {
  const SampleStats odd = sample_stats({5, 1, 3});
  EXPECT_EQ(odd.count, 3);
  EXPECT_DOUBLE_EQ(odd.median, 3);
  EXPECT_DOUBLE_EQ(odd.min, 1);
  EXPECT_DOUBLE_EQ(odd.max, 5);
  EXPECT_DOUBLE_EQ(odd.mean, 3);
  EXPECT_NEAR(odd.stddev, 1.632993161855452, 1e-12);
  // An even count: the mean of the two middle values.
  EXPECT_DOUBLE_EQ(sample_stats({4, 1, 2, 10}).median, 3);
  EXPECT_EQ(sample_stats({}).count, 0);
  EXPECT_DOUBLE_EQ(sample_stats({}).median, 0);
}

}  // namespace
}  // namespace gqaforge
