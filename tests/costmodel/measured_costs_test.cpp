// MeasuredCosts: interpolation between tuned points, the extrapolation flag, fallbacks for
// untuned shapes, and the composition into decode latency and throughput.
#include "costmodel/measured_costs.h"

#include <cmath>

#include <gtest/gtest.h>

namespace gqaforge::costmodel {
namespace {

// Synthetic H200-like timings: decode = 4 us + bytes / 4 TB/s; GEMM = 3 us + max(flops/600T, bytes/3.5T).
double decode_truth(int64_t n_kv, int64_t d_h, int64_t batch, int64_t kv) {
  return 4.0 + 2.0 * static_cast<double>(batch * kv * n_kv * d_h) * 2 / 4.0e6;
}
double gemm_truth(double m, double n, double k) {
  return 3.0 + std::max(2 * m * n * k / 6.0e8, 2 * (m * k + k * n + m * n) / 3.5e6);
}

MeasurementRecord decode_row(int64_t h, int64_t kv, int64_t d_h, int64_t batch, int64_t len, double us) {
  MeasurementRecord r;
  r.problem.family = "decode";
  r.problem.n_q_heads = static_cast<int>(h);
  r.problem.n_kv_heads = static_cast<int>(kv);
  r.problem.head_dim = static_cast<int>(d_h);
  r.problem.batch = batch;
  r.problem.q_len = 1;
  r.problem.kv_len = len;
  r.median_us = us;
  return r;
}

MeasurementRecord gemm_row(int64_t m, int64_t n, int64_t k) {
  MeasurementRecord r;
  r.problem.family = "linear";
  r.problem.gemm_m = m;
  r.problem.gemm_n = n;
  r.problem.gemm_k = k;
  r.median_us = gemm_truth(static_cast<double>(m), static_cast<double>(n), static_cast<double>(k));
  return r;
}

std::vector<MeasurementRecord> rows() {
  std::vector<MeasurementRecord> out;
  for (auto [h, kv] : {std::pair<int64_t, int64_t>{32, 8}, {16, 2}, {8, 1}}) {
    for (int64_t len : {4096, 16384, 65536, 131072}) {
      out.push_back(decode_row(h, kv, 64, 1, len, decode_truth(kv, 64, 1, len)));
    }
  }
  // A failed row never counts.
  MeasurementRecord bad = decode_row(32, 8, 64, 1, 8192, 0.001);
  bad.status = MeasureStatus::kWrongResult;
  out.push_back(bad);
  for (int64_t m : {1, 16, 256}) {
    for (auto [n, k] : {std::pair<int64_t, int64_t>{2048, 2048}, {8192, 2048}, {2048, 8192}, {50304, 2048}}) {
      out.push_back(gemm_row(m, n, k));
    }
  }
  return out;
}

TEST(MeasuredCosts, ExactAndInterpolatedDecode) {
  auto mc = MeasuredCosts::build(rows());
  ASSERT_TRUE(mc.ok()) << mc.status().to_string();
  EXPECT_EQ(mc->decode_point_count(), 12u);
  auto exact = mc->decode_us(32, 8, 64, 1, 16384);
  ASSERT_TRUE(exact.ok());
  EXPECT_DOUBLE_EQ(exact->value, decode_truth(8, 64, 1, 16384));
  EXPECT_FALSE(exact->extrapolated);
  auto mid = mc->decode_us(32, 8, 64, 1, 32768);  // between tuned points
  ASSERT_TRUE(mid.ok());
  EXPECT_FALSE(mid->extrapolated);
  EXPECT_NEAR(mid->value, decode_truth(8, 64, 1, 32768), 0.05 * decode_truth(8, 64, 1, 32768));
  // Same bytes through batch: batch 2 at 16K reads what batch 1 at 32K reads.
  EXPECT_DOUBLE_EQ(mc->decode_us(32, 8, 64, 2, 16384)->value, mid->value);
}

TEST(MeasuredCosts, ExtrapolationIsFlagged) {
  auto mc = MeasuredCosts::build(rows());
  ASSERT_TRUE(mc.ok());
  auto far = mc->decode_us(32, 8, 64, 4, 131072);  // 4x the largest tuned bytes
  ASSERT_TRUE(far.ok());
  EXPECT_TRUE(far->extrapolated);
  EXPECT_NE(far->note.find("outside the tuned range"), std::string::npos);
  EXPECT_NEAR(far->value, decode_truth(8, 64, 4, 131072), 0.02 * decode_truth(8, 64, 4, 131072));  // affine truth
  auto untuned = mc->decode_us(4, 1, 64, 1, 65536);
  ASSERT_TRUE(untuned.ok());
  EXPECT_TRUE(untuned->extrapolated);
  EXPECT_NE(untuned->note.find("never tuned"), std::string::npos);
  EXPECT_GT(untuned->value, 0);
  auto no_dim = mc->decode_us(8, 1, 128, 1, 4096);
  ASSERT_FALSE(no_dim.ok());
  EXPECT_EQ(no_dim.status().message(), "no decode measurements for head dim 128 (needed for heads (8,1))");
}

TEST(MeasuredCosts, OnePointUsesThePooledShape) {
  // (4,1) tuned at one small, launch-bound point: a byte ratio would scale its 4 us floor with
  // the bytes; the pooled fit (bandwidth-bound at 128K) scaled through the point does not.
  std::vector<MeasurementRecord> r = rows();
  r.push_back(decode_row(4, 1, 64, 1, 4096, decode_truth(1, 64, 1, 4096)));
  auto mc = MeasuredCosts::build(r);
  ASSERT_TRUE(mc.ok());
  auto at_point = mc->decode_us(4, 1, 64, 1, 4096);
  ASSERT_TRUE(at_point.ok());
  EXPECT_FALSE(at_point->extrapolated);
  auto far = mc->decode_us(4, 1, 64, 1, 131072);
  ASSERT_TRUE(far.ok());
  EXPECT_TRUE(far->extrapolated);
  EXPECT_NE(far->note.find("one tuned point"), std::string::npos);
  const double truth = decode_truth(1, 64, 1, 131072);
  EXPECT_NEAR(far->value, truth, 0.15 * truth);
  EXPECT_LT(far->value, decode_truth(1, 64, 1, 4096) * 32 * 0.5);  // far below the byte-ratio scaling
}

TEST(MeasuredCosts, GemmExactInterpolatedAndRoofline) {
  auto mc = MeasuredCosts::build(rows());
  ASSERT_TRUE(mc.ok());
  auto exact = mc->gemm_us(16, 2048, 2048);
  ASSERT_TRUE(exact.ok());
  EXPECT_DOUBLE_EQ(exact->value, gemm_truth(16, 2048, 2048));
  auto interp = mc->gemm_us(64, 8192, 2048);
  ASSERT_TRUE(interp.ok());
  EXPECT_FALSE(interp->extrapolated);
  // Log-log interpolation between m = 16 and m = 256 does not see the roofline kink between them.
  EXPECT_NEAR(interp->value, gemm_truth(64, 8192, 2048), 0.2 * gemm_truth(64, 8192, 2048));
  EXPECT_GT(interp->value, gemm_truth(16, 8192, 2048));
  EXPECT_LT(interp->value, gemm_truth(256, 8192, 2048));
  auto roof = mc->gemm_us(1, 4096, 4096);  // shape never tuned, inside the tuned FLOP range
  ASSERT_TRUE(roof.ok());
  EXPECT_FALSE(roof->extrapolated);
  EXPECT_NEAR(roof->value, gemm_truth(1, 4096, 4096), 0.25 * gemm_truth(1, 4096, 4096));
  auto huge = mc->gemm_us(4096, 16384, 16384);
  ASSERT_TRUE(huge.ok());
  EXPECT_TRUE(huge->extrapolated);
}

TEST(MeasuredCosts, ComposesLatencyAndThroughput) {
  auto mc = MeasuredCosts::build(rows());
  ASSERT_TRUE(mc.ok());
  ModelShape s;
  s.layers = 16;
  s.hidden = 2048;
  s.n_heads = 32;
  s.n_kv_heads = 8;
  s.head_dim = 64;
  s.ffn = 8192;
  s.vocab = 50304;
  auto lat = mc->token_latency(s, 1, 16384);
  ASSERT_TRUE(lat.ok()) << lat.status().to_string();
  EXPECT_DOUBLE_EQ(lat->attention_us, 16 * decode_truth(8, 64, 1, 16384));
  EXPECT_GT(lat->linear_us, 16 * gemm_truth(1, 2048, 2048));
  EXPECT_GT(lat->elementwise_us, 0);
  EXPECT_NEAR(lat->total_us(), lat->attention_us + lat->linear_us + lat->elementwise_us, 1e-9);

  auto thr = mc->throughput(s, 131072);
  ASSERT_TRUE(thr.ok()) << thr.status().to_string();
  double weights = static_cast<double>(s.total_params()) * 2;
  double kv = 2.0 * 131072 * 16 * 8 * 64 * 2;
  EXPECT_EQ(thr->batch, static_cast<int64_t>((141e9 * 0.9 - weights) / kv));
  EXPECT_NEAR(thr->tokens_per_s, static_cast<double>(thr->batch) / (thr->step.total_us() * 1e-6), 1e-6);
  EXPECT_TRUE(thr->step.extrapolated);  // batch > 1 at 128K is beyond the tuned bytes

  MeasuredSettings tiny;
  tiny.gpu_memory_bytes = 1e9;
  auto small = MeasuredCosts::build(rows(), tiny);
  ASSERT_TRUE(small.ok());
  auto none = small->throughput(s, 131072);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kResourceExhausted);
}

TEST(MeasuredCosts, NeedsUsableRows) {
  std::vector<MeasurementRecord> only_bad = {decode_row(8, 1, 64, 1, 1024, 5)};
  only_bad[0].status = MeasureStatus::kTimeout;
  auto mc = MeasuredCosts::build(only_bad);
  ASSERT_FALSE(mc.ok());
  EXPECT_NE(mc.status().message().find("no usable measurements"), std::string::npos);
}

}  // namespace
}  // namespace gqaforge::costmodel
