// The CPU oracle and the correctness check itself: conversions, mask semantics, and that the
// check catches what it must (poison, NaN, wrong values).
#include <gtest/gtest.h>

#include <cmath>

#include "core/half.h"
#include "runtime/host_attention.h"

namespace gqaforge::rt {
namespace {

TEST(Half, RoundTripsAndRoundsToNearestEven) {
  for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 1e-7f, 3.14159f}) {
    EXPECT_NEAR(fp16_to_float(float_to_fp16(f)), f, std::fabs(f) * 1e-3 + 6e-8) << f;
    EXPECT_NEAR(bf16_to_float(float_to_bf16(f)), f, std::fabs(f) * 8e-3) << f;
  }
  EXPECT_EQ(float_to_bf16(1.0f + 1.0f / 256), float_to_bf16(1.0f));  // tie to even
  EXPECT_EQ(float_to_fp16(1.0f + 1.0f / 2048), float_to_fp16(1.0f));
  EXPECT_EQ(float_to_fp16(1e6f), 0x7c00);                              // overflow to inf
  EXPECT_EQ(fp16_to_float(0x0001), std::ldexp(1.0f, -24));             // smallest subnormal
}

AttentionProblem small(bool causal, int q, int kv) {
  AttentionProblem p;
  p.phase = Phase::kPrefill;
  p.n_q_heads = 4;
  p.n_kv_heads = 2;
  p.head_dim = 64;
  p.causal = causal;
  p.batch = 2;
  p.q_len = q;
  p.kv_len = kv;
  return p;
}

TEST(Oracle, LowPrecisionIsCloseButNotEqual) {
  HostAttention in = make_host_attention(small(true, 37, 53), 3);
  AttentionResult a = cpu_attention_fp64(in), b = cpu_attention_lowp(in);
  double err = 0;
  for (size_t i = 0; i < a.o.size(); ++i) err = std::max(err, std::fabs(a.o[i] - b.o[i]));
  EXPECT_GT(err, 0.0);
  EXPECT_LT(err, 0.05);
}

TEST(Oracle, RowsThatSeeNoKeyAreZeroWithMinusInfLse) {
  // 5 queries, 3 keys, causal bottom-right: queries 0 and 1 see nothing.
  HostAttention in = make_host_attention(small(true, 5, 3), 4);
  AttentionResult r = cpu_attention_fp64(in);
  for (int h = 0; h < 4; ++h) {
    for (int t = 0; t < 2; ++t) {
      EXPECT_TRUE(std::isinf(r.lse[static_cast<size_t>(in.lse_row(0, t) * 4 + h)]));
      for (int d = 0; d < 64; ++d) EXPECT_EQ(r.o[static_cast<size_t>(in.q_offset(0, t, h) + d)], 0.0);
    }
    EXPECT_TRUE(std::isfinite(r.lse[static_cast<size_t>(in.lse_row(0, 2) * 4 + h)]));
  }
}

TEST(Oracle, SingleKeyCopiesValue) {
  HostAttention in = make_host_attention(small(false, 2, 1), 5);
  AttentionResult r = cpu_attention_fp64(in);
  // Every query head of KV head 1 outputs V[key 0, head 1].
  for (int i = 0; i < 64; ++i) {
    EXPECT_DOUBLE_EQ(r.o[static_cast<size_t>(in.q_offset(1, 0, 3) + i)],
                     bf16_to_float(in.v[static_cast<size_t>(in.kv_offset(1, 0, 1) + i)]));
  }
}

TEST(Check, CatchesPoisonNanAndWrongValues) {
  HostAttention in = make_host_attention(small(true, 9, 11), 6);
  AttentionResult oracle = cpu_attention_fp64(in), lowp = cpu_attention_lowp(in);
  std::vector<uint16_t> good(oracle.o.size());
  for (size_t i = 0; i < good.size(); ++i) good[i] = float_to_bf16(static_cast<float>(lowp.o[i]));
  std::vector<float> lse(oracle.lse.begin(), oracle.lse.end());
  EXPECT_TRUE(check_attention(in, good, &lse, oracle, lowp).passed);
  auto poisoned = good;
  poisoned[17] = kPoison16;
  CheckReport r = check_attention(in, poisoned, &lse, oracle, lowp);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.unwritten, 1);
  auto nan = good;
  nan[5] = 0x7fc0;
  EXPECT_FALSE(check_attention(in, nan, &lse, oracle, lowp).passed);
  auto wrong = good;
  wrong[100] = float_to_bf16(bf16_to_float(wrong[100]) + 0.25f);
  EXPECT_FALSE(check_attention(in, wrong, &lse, oracle, lowp).passed);
  auto bad_lse = lse;
  bad_lse[3] += 0.1f;
  EXPECT_FALSE(check_attention(in, good, &bad_lse, oracle, lowp).passed);
}

TEST(HostAttention, VarlenLayout) {
  AttentionProblem p = small(true, 10, 10);
  p.batch = 3;
  HostAttention in = make_host_attention(p, 9, {4, 0, 7}, {2, 0, 5}, true);
  EXPECT_EQ(in.q_rows(), 7);
  EXPECT_EQ(in.kv_rows(), 11);
  EXPECT_EQ(in.q_offset(2, 1, 0), (2 + 1) * 4 * 64);
  EXPECT_EQ(in.kv_offset(2, 0, 1), (4 * 2 + 1) * 64);
}

}  // namespace
}  // namespace gqaforge::rt
