// MeasuredCosts beyond decode: the prefill attention model (interpolation, FLOP scaling, the
// pooled fit and their notes), the prompt latency composition, the launch floor, the SwiGLU
// GEMM lookup against the tuner's shapes, and the decode-throughput batch bound.
#include <cmath>

#include <gtest/gtest.h>

#include "autotune/linear.h"
#include "costmodel/measured_costs.h"
#include "costmodel/search.h"

namespace gqaforge::costmodel {
namespace {

// Synthetic prefill timing: 10 us + FLOPs at 400 TFLOP/s.
double prefill_truth(double flops) {
  return 10.0 + flops / 4.0e8;
}

MeasurementRecord prefill_row(int64_t h, int64_t kv, int64_t d_h, int64_t batch, int64_t t, bool causal, double us) {
  MeasurementRecord r;
  r.problem.family = "prefill";
  r.problem.n_q_heads = static_cast<int>(h);
  r.problem.n_kv_heads = static_cast<int>(kv);
  r.problem.head_dim = static_cast<int>(d_h);
  r.problem.causal = causal;
  r.problem.batch = batch;
  r.problem.q_len = t;
  r.problem.kv_len = t;
  r.median_us = us;
  return r;
}

MeasurementRecord prefill_row(int64_t h, int64_t kv, int64_t t) {
  return prefill_row(h, kv, 64, 1, t, true, prefill_truth(prefill_attention_flops(h, 64, 1, t, t, true)));
}

MeasurementRecord gemm_row(int64_t m, int64_t n, int64_t k, double us) {
  MeasurementRecord r;
  r.problem.family = "linear";
  r.problem.gemm_m = m;
  r.problem.gemm_n = n;
  r.problem.gemm_k = k;
  r.median_us = us;
  return r;
}

MeasurementRecord decode_row(int64_t h, int64_t kv, int64_t batch, int64_t len, double us) {
  MeasurementRecord r;
  r.problem.family = "decode";
  r.problem.n_q_heads = static_cast<int>(h);
  r.problem.n_kv_heads = static_cast<int>(kv);
  r.problem.head_dim = 64;
  r.problem.batch = batch;
  r.problem.q_len = 1;
  r.problem.kv_len = len;
  r.median_us = us;
  return r;
}

std::vector<MeasurementRecord> prefill_rows() {
  std::vector<MeasurementRecord> out;
  for (auto [h, kv] : {std::pair<int64_t, int64_t>{32, 8}, {8, 1}}) {
    for (int64_t t : {4096, 16384}) out.push_back(prefill_row(h, kv, t));
  }
  return out;
}

// 2 layers, d = 1024, (8,1) d_h 64 (q width 512, kv width 64), d_ff 2048, V 4096.
ModelShape small_model() {
  ModelShape s;
  s.layers = 2;
  s.hidden = 1024;
  s.n_heads = 8;
  s.n_kv_heads = 1;
  s.head_dim = 64;
  s.ffn = 2048;
  s.vocab = 4096;
  return s;
}

MeasuredSettings no_launch() {
  MeasuredSettings s;
  s.launch_us = 0;
  return s;
}

TEST(MeasuredPrefill, FlopsOfACall) {
  EXPECT_DOUBLE_EQ(prefill_attention_flops(32, 64, 1, 4096, 4096, false), 4.0 * 32 * 64 * 4096.0 * 4096);
  // Causal: the q * kv - q (q - 1) / 2 pairs a bottom-right mask keeps, about half.
  EXPECT_DOUBLE_EQ(prefill_attention_flops(32, 64, 2, 4096, 4096, true),
                   4.0 * 2 * 32 * 64 * (4096.0 * 4096 - 4096.0 * 4095 / 2));
}

TEST(MeasuredPrefill, InterpolatesBetweenAndScalesByFlopsBeyond) {
  auto mc = MeasuredCosts::build(prefill_rows());
  ASSERT_TRUE(mc.ok()) << mc.status().to_string();
  EXPECT_EQ(mc->prefill_point_count(), 4u);
  auto flops = [](int64_t t) { return prefill_attention_flops(32, 64, 1, t, t, true); };
  auto exact = mc->prefill_us(32, 8, 64, 1, 4096, true);
  ASSERT_TRUE(exact.ok());
  EXPECT_DOUBLE_EQ(exact->value, prefill_truth(flops(4096)));
  EXPECT_FALSE(exact->extrapolated);
  auto mid = mc->prefill_us(32, 8, 64, 1, 8192, true);
  ASSERT_TRUE(mid.ok());
  EXPECT_FALSE(mid->extrapolated);
  EXPECT_NEAR(mid->value, prefill_truth(flops(8192)), 0.02 * prefill_truth(flops(8192)));
  // Beyond: compute-bound, the largest point's time scaled by the FLOPs.
  auto far = mc->prefill_us(32, 8, 64, 1, 131072, true);
  ASSERT_TRUE(far.ok());
  EXPECT_TRUE(far->extrapolated);
  EXPECT_DOUBLE_EQ(far->value, prefill_truth(flops(16384)) * flops(131072) / flops(16384));
  EXPECT_EQ(far->note,
            "prefill (32,8) d_h 64 causal at batch 1 T 131072 is beyond the measured FLOPs (largest at batch 1 "
            "T 16384); time scaled by FLOPs");
  auto small = mc->prefill_us(32, 8, 64, 1, 1024, true);
  ASSERT_TRUE(small.ok());
  EXPECT_TRUE(small->extrapolated);
  EXPECT_NE(small->note.find("below the measured FLOPs (smallest at batch 1 T 4096)"), std::string::npos);
  // The batch enters through the FLOPs: 4 sequences of 4K cost 4x one.
  EXPECT_FALSE(mc->prefill_us(32, 8, 64, 4, 4096, true)->extrapolated);
}

TEST(MeasuredPrefill, PooledFitForANeverTunedConfiguration) {
  auto mc = MeasuredCosts::build(prefill_rows());
  ASSERT_TRUE(mc.ok());
  auto untuned = mc->prefill_us(16, 2, 64, 1, 8192, true);
  ASSERT_TRUE(untuned.ok());
  EXPECT_TRUE(untuned->extrapolated);
  EXPECT_EQ(untuned->note,
            "prefill (16,2) d_h 64 causal was never tuned; fit pooled over the tuned configurations of d_h 64");
  const double truth = prefill_truth(prefill_attention_flops(16, 64, 1, 8192, 8192, true));
  EXPECT_NEAR(untuned->value, truth, 0.1 * truth);
  auto far = mc->prefill_us(16, 2, 64, 1, 131072, true);
  ASSERT_TRUE(far.ok());
  EXPECT_NE(far->note.find("scaled by FLOPs beyond their range"), std::string::npos) << far->note;
  // Causal and non-causal rows are kept apart: no non-causal row, no estimate.
  auto none = mc->prefill_us(32, 8, 64, 1, 4096, false);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "no non-causal prefill measurements for head dim 64 (needed for heads (32,8))");
  EXPECT_FALSE(mc->prefill_us(32, 8, 64, 0, 4096, true).ok());
}

// Rows for every kernel of small_model()'s prompt at batch 1, T = 4096, at hand-picked times.
std::vector<MeasurementRecord> prompt_rows() {
  std::vector<MeasurementRecord> r = {prefill_row(8, 1, 64, 1, 4096, true, 300)};
  r.push_back(gemm_row(4096, 512 + 2 * 64, 1024, 100));  // QKV
  r.push_back(gemm_row(4096, 1024, 512, 50));            // O
  r.push_back(gemm_row(4096, 2048, 1024, 200));          // gate and up, one shape each
  r.push_back(gemm_row(4096, 1024, 2048, 150));          // down
  r.push_back(gemm_row(1, 4096, 1024, 7));               // LM head: the last token only
  return r;
}

TEST(MeasuredPrompt, ComposesTheLayersAndTheLastTokensHead) {
  auto mc = MeasuredCosts::build(prompt_rows(), no_launch());
  ASSERT_TRUE(mc.ok()) << mc.status().to_string();
  auto p = mc->prompt_latency(small_model(), 1, 4096);
  ASSERT_TRUE(p.ok()) << p.status().to_string();
  EXPECT_FALSE(p->time.extrapolated) << (p->time.notes.empty() ? "" : p->time.notes[0]);
  EXPECT_DOUBLE_EQ(p->time.attention_us, 2 * 300.0);
  EXPECT_DOUBLE_EQ(p->time.linear_us, 2 * (100 + 50 + 2 * 200 + 150.0) + 7);
  // Values moved per layer over m = 4096 rows: 2 norms (2 m d), RoPE (2 m (q + kv)), the KV
  // append (2 m kv), 2 residual adds (3 m d), the gated activation (3 m d_ff); then the
  // embedding (m d) and the final norm of the last token (2 d); 2 bytes each at 3 TB/s.
  const double m = 4096, d = 1024;
  const double values = 2 * (2 * 2 * m * d + 2 * m * 576 + 2 * m * 64 + 2 * 3 * m * d + 3 * m * 2048) + m * d + 2 * d;
  EXPECT_NEAR(p->time.elementwise_us, values * 2 / 3.0e12 * 1e6, 1e-9);
  // 13 kernels per layer (2 norms, QKV, RoPE, append, attention, O, 2 adds, gate, up, activation,
  // down) and the embedding, final norm and LM head.
  EXPECT_EQ(p->time.kernels, 2 * 13 + 3);
  EXPECT_EQ(p->time.launch_bound_us, 0);
  EXPECT_DOUBLE_EQ(p->tokens_per_s(), 4096 / (p->time.total_us() * 1e-6));
  // A longer prompt leaves the measured points, and says where.
  auto longer = mc->prompt_latency(small_model(), 1, 8192);
  ASSERT_TRUE(longer.ok());
  EXPECT_TRUE(longer->time.extrapolated);
  EXPECT_FALSE(longer->time.notes.empty());
  EXPECT_FALSE(mc->prompt_latency(small_model(), 1, 0).ok());
}

TEST(MeasuredPrompt, EveryKernelCostsAtLeastALaunch) {
  // A tiny decode step: every kernel (GEMMs 1 us, attention 1 us, element-wise far below) is
  // shorter than a launch, so the step costs its kernel count times launch_us.
  ModelShape s = small_model();
  std::vector<MeasurementRecord> rows = {decode_row(8, 1, 1, 4096, 1.0), decode_row(8, 1, 1, 8192, 1.0)};
  for (auto [n, k] : {std::pair<int64_t, int64_t>{640, 1024}, {1024, 512}, {2048, 1024}, {1024, 2048}, {4096, 1024}}) {
    rows.push_back(gemm_row(1, n, k, 1.0));
  }
  auto graphs = MeasuredCosts::build(rows, no_launch());
  auto host = MeasuredCosts::build(rows);  // launch_us 3.2 by default
  ASSERT_TRUE(graphs.ok() && host.ok());
  EXPECT_DOUBLE_EQ(host->settings().launch_us, 3.2);
  auto fast = graphs->token_latency(s, 1, 4096);
  auto slow = host->token_latency(s, 1, 4096);
  ASSERT_TRUE(fast.ok() && slow.ok());
  EXPECT_EQ(slow->kernels, 2 * 13 + 3);
  EXPECT_EQ(slow->launch_us, 3.2);
  EXPECT_NEAR(slow->total_us(), static_cast<double>(slow->kernels) * 3.2, 1e-9);
  EXPECT_NEAR(slow->launch_bound_us, slow->total_us() - fast->total_us(), 1e-9);
  EXPECT_DOUBLE_EQ(fast->attention_us, 2.0);
  EXPECT_DOUBLE_EQ(slow->attention_us, 2 * 3.2);
}

TEST(MeasuredPrompt, SplitKvWithASeparateCombineIsTwoLaunches) {
  std::vector<MeasurementRecord> rows = {decode_row(8, 1, 1, 4096, 1.0)};
  rows[0].config = "block_n=64,warps=4,warps_m=1,stages=3,use_mma=1,row_blocks=1,num_splits=8,fused_combine=0";
  for (auto [n, k] : {std::pair<int64_t, int64_t>{640, 1024}, {1024, 512}, {2048, 1024}, {1024, 2048}, {4096, 1024}}) {
    rows.push_back(gemm_row(1, n, k, 1.0));
  }
  auto split = MeasuredCosts::build(rows);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->decode_us(8, 1, 64, 1, 4096)->kernels, 2);
  EXPECT_EQ(split->token_latency(small_model(), 1, 4096)->kernels, 2 * 14 + 3);
  rows[0].config = "block_n=64,warps=4,warps_m=1,stages=3,use_mma=1,row_blocks=1,num_splits=8,fused_combine=1";
  EXPECT_EQ(MeasuredCosts::build(rows)->decode_us(8, 1, 64, 1, 4096)->kernels, 1);
}

TEST(MeasuredPrompt, SwigluLooksUpTheTunersGemms) {
  // Rows for exactly the shapes `gqaforge tune --linear --model` times (autotune::model_gemms):
  // every lookup of a decode step hits a measured point, gate and up counted apart.
  ModelShape s = small_model();
  std::vector<MeasurementRecord> rows = {decode_row(8, 1, 1, 4096, 20.0)};
  double layer_us = 0, head_us = 0;
  const autotune::LinearDims dims{s.hidden, s.n_heads * s.head_dim, s.n_kv_heads * s.head_dim, s.ffn, s.vocab};
  double us = 10;
  for (const autotune::GemmShape& g : autotune::model_gemms(dims, 1)) {
    rows.push_back(gemm_row(g.m, g.n, g.k, us));
    if (g.name == "lm_head") {
      head_us = us;
    } else {
      layer_us += (g.name == "gate/up" ? 2 : 1) * us;
    }
    us += 5;
  }
  auto mc = MeasuredCosts::build(rows, no_launch());
  ASSERT_TRUE(mc.ok());
  auto lat = mc->token_latency(s, 1, 4096);
  ASSERT_TRUE(lat.ok());
  EXPECT_FALSE(lat->extrapolated) << (lat->notes.empty() ? "" : lat->notes[0]);
  EXPECT_DOUBLE_EQ(lat->linear_us, 2 * layer_us + head_us);
  // Without a gate the FFN is the up GEMM alone, the same (tokens, d_ff, d) shape.
  s.ffn_matrices = 2;
  auto plain = mc->token_latency(s, 1, 4096);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->extrapolated);
  EXPECT_EQ(plain->kernels, lat->kernels - 2);
}

// (32,8) decode tuned at batches 1 and 16; GEMMs of the test model at m = 1, 16, 256.
std::vector<MeasurementRecord> throughput_rows() {
  std::vector<MeasurementRecord> rows;
  for (int64_t b : {1, 16}) {
    for (int64_t len : {4096, 16384, 131072}) {
      rows.push_back(decode_row(32, 8, b, len, 4.0 + 2.0 * static_cast<double>(b * len) * 8 * 64 * 2 / 4.0e6));
    }
  }
  for (int64_t m : {1, 16, 256}) {
    for (auto [n, k] : {std::pair<int64_t, int64_t>{3072, 1024}, {1024, 2048}, {2048, 1024}, {1024, 2048}}) {
      rows.push_back(gemm_row(m, n, k, 5.0 + static_cast<double>(m) * 0.05));
    }
    rows.push_back(gemm_row(m, 4096, 1024, 6.0 + static_cast<double>(m) * 0.05));
  }
  return rows;
}

ModelShape gqa_model() {
  ModelShape s = small_model();
  s.n_heads = 32;
  s.n_kv_heads = 8;
  return s;
}

TEST(MeasuredThroughput, BeyondTheMeasuredBatchesIsExplicitWithAMeasuredFloor) {
  auto mc = MeasuredCosts::build(throughput_rows());
  ASSERT_TRUE(mc.ok());
  EXPECT_EQ(mc->decode_batches(32, 8, 64), (std::vector<int64_t>{1, 16}));
  auto t = mc->throughput(gqa_model(), 16384);
  ASSERT_TRUE(t.ok()) << t.status().to_string();
  ASSERT_GT(t->batch, 16);
  EXPECT_TRUE(t->beyond_measured_batches);
  EXPECT_TRUE(t->step.extrapolated);
  EXPECT_EQ(t->measured_batch_min, 1);
  EXPECT_EQ(t->measured_batch_max, 16);
  EXPECT_EQ(t->note, fmt::format("batch {} is beyond the measured batches (1..16) of (32,8) d_h 64", t->batch));
  ASSERT_TRUE(t->floor.has_value());
  EXPECT_EQ(t->floor->batch, 16);
  auto at16 = mc->token_latency(gqa_model(), 16, 16384);
  ASSERT_TRUE(at16.ok());
  EXPECT_DOUBLE_EQ(t->floor->tokens_per_s, 16 / (at16->total_us() * 1e-6));
  EXPECT_LT(t->floor->tokens_per_s, t->tokens_per_s);

  // --max-batch at the measured maximum: no batch extrapolation, the floor is the estimate.
  MeasuredSettings capped;
  capped.max_batch = 16;
  auto c = MeasuredCosts::build(throughput_rows(), capped)->throughput(gqa_model(), 16384);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->batch, 16);
  EXPECT_FALSE(c->beyond_measured_batches);
  EXPECT_EQ(c->note, "");
  EXPECT_DOUBLE_EQ(c->floor->tokens_per_s, c->tokens_per_s);
  // Between measured batches the floor is the next one down.
  capped.max_batch = 8;
  auto between = MeasuredCosts::build(throughput_rows(), capped)->throughput(gqa_model(), 16384);
  ASSERT_TRUE(between.ok());
  EXPECT_EQ(between->floor->batch, 1);
  // A configuration never tuned for decode has no floor, and says so.
  auto untuned = mc->throughput(small_model(), 16384);
  if (untuned.ok()) {
    EXPECT_FALSE(untuned->floor.has_value());
    EXPECT_NE(untuned->note.find("no decode batch of (8,1) d_h 64 was measured"), std::string::npos);
  }
}

TEST(MeasuredThroughput, TheSearchWarningNamesTheBatchRange) {
  // A test-local loss model with one law: the search evaluates (32,8) alone.
  LossModel loss = LossModel::from_table({{{32, 8}, PowerLaw{1e8, 0.45, 2.0, {}, {}, {}}}}, true);
  auto mc = MeasuredCosts::build(throughput_rows());
  ASSERT_TRUE(mc.ok());
  SearchSettings s;
  s.target_loss = 2.6;
  s.context = 16384;
  s.objective = Objective::kThroughput;
  s.baseline = HeadConfig{32, 8};
  auto r = run_search(loss, Presets::bundled()->aspect_table(), s, &*mc);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const ThroughputEstimate& t = *r->ranked.front().throughput;
  ASSERT_TRUE(t.beyond_measured_batches);
  bool named = false;
  for (const std::string& w : r->warnings) {
    named |= w.find(fmt::format("estimated at batch {}, beyond its measured decode batches 1..16", t.batch)) !=
                 std::string::npos &&
             w.find("--max-batch 16") != std::string::npos;
  }
  EXPECT_TRUE(named);
}

}  // namespace
}  // namespace gqaforge::costmodel
