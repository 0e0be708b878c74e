// The CPU oracle and the correctness check itself: conversions, mask semantics, and that the
// check catches what it must (poison, NaN, wrong values).
#include <gtest/gtest.h>

#include <cmath>

#include "core/half.h"
#include "runtime/host_attention.h"

namespace gqaforge::runtime {

using codegen::AttentionProblem;

namespace {

TEST(Half, RoundTripsAndRoundsToNearestEven) {
  for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 1e-7f, 3.14159f}) {
    EXPECT_NEAR(fp16_to_float(float_to_fp16(f)), f, std::fabs(f) * 1e-3 + 6e-8) << f;
    EXPECT_NEAR(bf16_to_float(float_to_bf16(f)), f, std::fabs(f) * 8e-3) << f;
  }
  EXPECT_EQ(float_to_bf16(1.0f + 1.0f / 256), float_to_bf16(1.0f));  // tie to even
  EXPECT_EQ(float_to_fp16(1.0f + 1.0f / 2048), float_to_fp16(1.0f));
  EXPECT_EQ(float_to_fp16(1e6f), 0x7c00);                   // overflow to inf
  EXPECT_EQ(fp16_to_float(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
}

AttentionProblem small(bool causal, int q, int kv) {
  AttentionProblem p;
  p.phase = codegen::Phase::kPrefill;
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

// The mismatch report: the first failing element decoded into (sequence, token, head, dim) or
// an LSE row, with expected and actual values and the bound; the pass rule is unchanged.
struct ReportFixture {
  HostAttention in;
  AttentionResult oracle, lowp;
  std::vector<uint16_t> good;
  std::vector<float> lse;
  explicit ReportFixture(HostAttention h)
      : in(std::move(h)), oracle(cpu_attention_fp64(in)), lowp(cpu_attention_lowp(in)) {
    const bool bf16 = in.problem.dtype == codegen::DType::kBF16;
    good.resize(oracle.o.size());
    for (size_t i = 0; i < good.size(); ++i) good[i] = float_to_half(static_cast<float>(lowp.o[i]), bf16);
    lse.assign(oracle.lse.begin(), oracle.lse.end());
  }
};

TEST(CheckReport, PassingCheckHasNoMismatchAndAnUnchangedSummary) {
  ReportFixture f(make_host_attention(small(true, 9, 11), 6));
  CheckReport r = check_attention(f.in, f.good, &f.lse, f.oracle, f.lowp);
  EXPECT_TRUE(r.passed);
  EXPECT_FALSE(r.first_o.valid);
  EXPECT_FALSE(r.worst_o.valid);
  EXPECT_FALSE(r.first_lse.valid);
  EXPECT_EQ(r.o_mismatch, 0);
  EXPECT_EQ(r.summary().rfind("PASS max_err=", 0), 0u) << r.summary();
  EXPECT_EQ(r.summary().find("mismatch"), std::string::npos) << r.summary();
}

TEST(CheckReport, FirstWrongOElementIsDecodedWithValuesAndBound) {
  // Decode-like shape: 4 sequences, 1 query, 16:2 heads (group 8), d128, like the split-KV case.
  AttentionProblem p = small(false, 1, 40);
  p.phase = codegen::Phase::kDecode;
  p.n_q_heads = 16;
  p.n_kv_heads = 2;
  p.head_dim = 128;
  p.batch = 4;
  ReportFixture f(make_host_attention(p, 11, {40, 17, 1, 25}));
  auto wrong = f.good;
  // Two wrong elements, the second one much worse: sequence 3, head 9, dims 5 and 77.
  const int64_t first = f.in.q_offset(3, 0, 9) + 5, worst = f.in.q_offset(3, 0, 9) + 77;
  wrong[static_cast<size_t>(first)] = float_to_bf16(static_cast<float>(f.oracle.o[static_cast<size_t>(first)]) + 0.25f);
  wrong[static_cast<size_t>(worst)] = float_to_bf16(static_cast<float>(f.oracle.o[static_cast<size_t>(worst)]) - 2.0f);
  CheckReport r = check_attention(f.in, wrong, &f.lse, f.oracle, f.lowp);
  ASSERT_FALSE(r.passed);
  EXPECT_EQ(r.o_mismatch, 2);
  EXPECT_EQ(r.o_mismatch_rows, 1);
  ASSERT_TRUE(r.first_o.valid);
  EXPECT_FALSE(r.first_o.lse);
  EXPECT_EQ(r.first_o.index, first);
  EXPECT_EQ(r.first_o.batch, 3);
  EXPECT_EQ(r.first_o.row, 0);
  EXPECT_EQ(r.first_o.head, 9);
  EXPECT_EQ(r.first_o.kv_head, 1);
  EXPECT_EQ(r.first_o.dim, 5);
  EXPECT_DOUBLE_EQ(r.first_o.expected, f.oracle.o[static_cast<size_t>(first)]);
  EXPECT_DOUBLE_EQ(r.first_o.actual, bf16_to_float(wrong[static_cast<size_t>(first)]));
  EXPECT_DOUBLE_EQ(r.first_o.bound, r.bound);
  EXPECT_GT(r.first_o.error, r.bound);
  EXPECT_EQ(r.first_o.reason, "above bound");
  ASSERT_TRUE(r.worst_o.valid);
  EXPECT_EQ(r.worst_o.index, worst);
  EXPECT_EQ(r.worst_o.dim, 77);
  EXPECT_DOUBLE_EQ(r.worst_o.error, r.max_error);
  EXPECT_FALSE(r.first_lse.valid);
  const std::string s = r.summary();
  EXPECT_NE(s.find("FAIL"), std::string::npos) << s;
  EXPECT_NE(s.find("2 O elements in 1 rows fail"), std::string::npos) << s;
  EXPECT_NE(s.find("first O mismatch: b=3 t=0 h=9 kvh=1 d=5 [O index " + std::to_string(first) + "]"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("worst O: b=3 t=0 h=9 kvh=1 d=77"), std::string::npos) << s;
  EXPECT_NE(s.find("expected = oracle"), std::string::npos) << s;
}

TEST(CheckReport, PoisonAndNanAreReportedWithTheirBits) {
  ReportFixture f(make_host_attention(small(true, 9, 11), 6));
  auto bad = f.good;
  const int64_t poisoned = f.in.q_offset(1, 4, 2) + 63, nan = f.in.q_offset(1, 7, 0);
  bad[static_cast<size_t>(poisoned)] = kPoison16;
  bad[static_cast<size_t>(nan)] = 0x7fc0;
  CheckReport r = check_attention(f.in, bad, &f.lse, f.oracle, f.lowp);
  ASSERT_FALSE(r.passed);
  EXPECT_EQ(r.unwritten, 1);
  EXPECT_EQ(r.non_finite, 1);
  EXPECT_EQ(r.o_mismatch, 2);
  EXPECT_EQ(r.o_mismatch_rows, 2);
  ASSERT_TRUE(r.first_o.valid);
  EXPECT_EQ(r.first_o.index, poisoned);  // (b=1, t=4) comes before (b=1, t=7)
  EXPECT_EQ(r.first_o.batch, 1);
  EXPECT_EQ(r.first_o.row, 4);
  EXPECT_EQ(r.first_o.head, 2);
  EXPECT_EQ(r.first_o.dim, 63);
  EXPECT_EQ(r.first_o.actual_bits, kPoison16);
  EXPECT_EQ(r.first_o.reason, "unwritten (poison)");
  EXPECT_NE(r.summary().find("(bits 0x7fff)"), std::string::npos) << r.summary();
  EXPECT_NE(r.summary().find("unwritten (poison)"), std::string::npos) << r.summary();
}

TEST(CheckReport, FirstLseMismatchIsDecodedIntoItsRow) {
  ReportFixture f(make_host_attention(small(false, 3, 5), 8));
  auto bad = f.lse;
  const int64_t row = f.in.lse_row(1, 2) * 4 + 3;  // sequence 1, token 2, head 3
  bad[static_cast<size_t>(row)] += 0.5f;
  CheckReport r = check_attention(f.in, f.good, &bad, f.oracle, f.lowp);
  ASSERT_FALSE(r.passed);
  EXPECT_EQ(r.lse_mismatch, 1);
  EXPECT_EQ(r.o_mismatch, 0);
  EXPECT_FALSE(r.first_o.valid);
  ASSERT_TRUE(r.first_lse.valid);
  EXPECT_TRUE(r.first_lse.lse);
  EXPECT_EQ(r.first_lse.index, row);
  EXPECT_EQ(r.first_lse.batch, 1);
  EXPECT_EQ(r.first_lse.row, 2);
  EXPECT_EQ(r.first_lse.head, 3);
  EXPECT_EQ(r.first_lse.kv_head, 1);
  EXPECT_EQ(r.first_lse.dim, -1);
  EXPECT_DOUBLE_EQ(r.first_lse.expected, f.oracle.lse[static_cast<size_t>(row)]);
  EXPECT_FLOAT_EQ(static_cast<float>(r.first_lse.actual), bad[static_cast<size_t>(row)]);
  EXPECT_EQ(r.first_lse.reason, "above bound");
  EXPECT_NE(r.summary().find("first LSE mismatch: b=1 t=2 h=3 kvh=1 [LSE index"), std::string::npos) << r.summary();
  // Rows that see no key must stay -inf: a finite value there is a -inf mismatch.
  ReportFixture c(make_host_attention(small(true, 5, 3), 4));
  auto finite = c.lse;
  const int64_t empty_row = c.in.lse_row(0, 1) * 4 + 2;
  ASSERT_TRUE(std::isinf(c.oracle.lse[static_cast<size_t>(empty_row)]));
  finite[static_cast<size_t>(empty_row)] = 1.0f;
  CheckReport rc = check_attention(c.in, c.good, &finite, c.oracle, c.lowp);
  ASSERT_TRUE(rc.first_lse.valid);
  EXPECT_EQ(rc.first_lse.reason, "-inf mismatch");
  EXPECT_EQ(rc.first_lse.row, 1);
  EXPECT_EQ(rc.first_lse.head, 2);
}

TEST(CheckReport, VarlenIndicesDecodeAcrossEmptySequences) {
  AttentionProblem p = small(true, 10, 10);
  p.batch = 3;
  HostAttention in = make_host_attention(p, 9, {4, 0, 7}, {2, 0, 5}, true);
  // Packed rows: sequence 0 holds rows 0-1, sequence 1 none, sequence 2 rows 2-6.
  ElementReport e = locate_o(in, in.q_offset(2, 0, 1) + 10);
  EXPECT_EQ(e.batch, 2);
  EXPECT_EQ(e.row, 0);
  EXPECT_EQ(e.head, 1);
  EXPECT_EQ(e.dim, 10);
  ElementReport l = locate_lse(in, in.lse_row(0, 1) * 4 + 3);
  EXPECT_EQ(l.batch, 0);
  EXPECT_EQ(l.row, 1);
  EXPECT_EQ(l.head, 3);
  ElementReport last = locate_lse(in, in.lse_row(2, 4) * 4);
  EXPECT_EQ(last.batch, 2);
  EXPECT_EQ(last.row, 4);
}

TEST(CheckReport, GpuReferenceComparisonNamesItsReference) {
  // locate_mismatches takes any reference: here the rounded oracle stands in for the GPU one.
  ReportFixture f(make_host_attention(small(false, 2, 7), 12));
  CheckReport r;
  r.bound = 1e-3;
  r.max_error = 0.5;
  r.reference = "gpu reference";
  r.decide();
  auto wrong = f.good;
  wrong[42] = float_to_bf16(bf16_to_float(wrong[42]) + 0.5f);
  locate_mismatches(
      f.in, wrong, [&](size_t i) { return double(bf16_to_float(f.good[i])); }, f.good.size(), r);
  ASSERT_TRUE(r.first_o.valid);
  EXPECT_EQ(r.first_o.index, 42);
  EXPECT_DOUBLE_EQ(r.first_o.expected, bf16_to_float(f.good[42]));
  EXPECT_NE(r.summary().find("expected = gpu reference"), std::string::npos) << r.summary();
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
}  // namespace gqaforge::runtime
