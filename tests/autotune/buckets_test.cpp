// Shape buckets: the default bucket edges, representatives, and bucket_for with the
// extrapolation flag.
#include <gtest/gtest.h>

#include "autotune/buckets.h"
#include "tests/autotune/test_util.h"

namespace gqaforge::autotune {

using codegen::AttentionProblem;

namespace {

TEST(Buckets, BatchBucketsArePowersOfFour) {
  std::vector<Bucket> b = batch_buckets(64);
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].label(), "1");
  EXPECT_EQ(b[1].label(), "2-4");
  EXPECT_EQ(b[2].label(), "5-16");
  EXPECT_EQ(b[3].label(), "17-64");
  EXPECT_EQ(b[3].representative, 64);
  EXPECT_EQ(batch_buckets(65).size(), 5u);
}

TEST(Buckets, LengthBucketsCoverWithoutGaps) {
  std::vector<Bucket> kv = length_buckets(4096, 131072, 4);
  ASSERT_FALSE(kv.empty());
  EXPECT_EQ(kv.front().lo, 1);
  EXPECT_EQ(kv.front().hi, 4096);
  for (size_t i = 1; i < kv.size(); ++i) {
    EXPECT_EQ(kv[i].lo, kv[i - 1].hi + 1);
    EXPECT_EQ(kv[i].hi, kv[i - 1].hi * 4);
  }
  EXPECT_GE(kv.back().hi, 131072);
  std::vector<Bucket> kv2 = length_buckets(1024, 8192, 2);
  EXPECT_EQ(kv2.size(), 4u);  // 1-1024, 1025-2048, 2049-4096, 4097-8192
}

TEST(Buckets, BucketForMapsAnyShapeAndFlagsExtrapolation) {
  const std::vector<Bucket> batch = buckets_covering(batch_buckets(16), {1, 16});  // 1 and 5-16
  const std::vector<Bucket> kv = length_buckets(4096, 65536, 4);                   // 1-4k, 4k-16k, 16k-64k
  BucketTable table(batch, {}, kv);
  AttentionProblem base = testing::decode_problem();
  EXPECT_EQ(table.representatives(base).size(), batch.size() * kv.size());

  AttentionProblem p = base;
  p.batch = 9;
  p.kv_len = 10000;
  BucketMatch m = table.bucket_for(p);
  EXPECT_FALSE(m.extrapolating) << m.note;
  EXPECT_EQ(m.representative.batch, 16);
  EXPECT_EQ(m.representative.kv_len, 16384);

  p.kv_len = 300000;  // longer than any tuned bucket
  m = table.bucket_for(p);
  EXPECT_TRUE(m.extrapolating);
  EXPECT_EQ(m.representative.kv_len, 65536);
  EXPECT_NE(m.note.find("kv_len 300000"), std::string::npos);

  p.kv_len = 4096;
  p.batch = 3;  // in the untuned 2-4 gap between tuned buckets 1 and 5-16
  m = table.bucket_for(p);
  EXPECT_TRUE(m.extrapolating);
  EXPECT_NE(m.note.find("batch 3"), std::string::npos);
  p.batch = 100;
  m = table.bucket_for(p);
  EXPECT_TRUE(m.extrapolating);
  EXPECT_EQ(m.representative.batch, 16);
}

TEST(Buckets, PrefillUsesQLengthBuckets) {
  BucketTable table(batch_buckets(1), length_buckets(1024, 8192, 2), length_buckets(1024, 8192, 2));
  AttentionProblem p = testing::prefill_problem(32, 8, 128, 1, 3000);
  BucketMatch m = table.bucket_for(p);
  EXPECT_FALSE(m.extrapolating);
  EXPECT_EQ(m.representative.q_len, 4096);
  EXPECT_EQ(m.representative.kv_len, 4096);
  EXPECT_EQ(table.representatives(p).size(), 16u);
}

}  // namespace
}  // namespace gqaforge::autotune
