// Dispatch: exact bucket, nearest tuned bucket (log-distance), heuristic default, and the
// forbidden-JIT error, over a table of shapes against the small library.
#include <cmath>

#include "library/library.h"
#include "tests/library/test_util.h"

namespace gqaforge::library {

using codegen::AttentionProblem;

namespace {

const Library& small(bool allow_jit) {
  static const auto dir = testing::scratch_dir("dispatch");
  static const std::string path = testing::write_small_library(dir);
  static const Library with_jit = Library::open(path, {.allow_jit = true, .device_arch = "sm_90a"}).value();
  static const Library without_jit = Library::open(path, {.allow_jit = false, .device_arch = "sm_90a"}).value();
  return allow_jit ? with_jit : without_jit;
}

AttentionProblem decode(int hq, int hkv, int d, int64_t batch, int64_t kv) {
  return codegen::make_problem(codegen::Phase::kDecode, hq, hkv, d, codegen::DType::kBF16, true, batch, 1, kv);
}

AttentionProblem prefill(bool causal, int64_t batch, int64_t q, int64_t kv) {
  return codegen::make_problem(codegen::Phase::kPrefill, 8, 1, 64, codegen::DType::kBF16, causal, batch, q, kv);
}

struct Case {
  const char* what;
  AttentionProblem problem;
  Decision decision;
  Range batch, kv;      // the bucket chosen (exact and nearest)
  double distance = 0;  // bucket_distance
};

TEST(Dispatch, TableOfShapes) {
  const Case cases[] = {
      {"tuned point", decode(8, 1, 64, 1, 4096), Decision::kExact, {1, 1}, {1025, 4096}, 0},
      {"inside a bucket", decode(8, 1, 64, 1, 3000), Decision::kExact, {1, 1}, {1025, 4096}, 0},
      {"inside, batch 9", decode(8, 1, 64, 9, 100000), Decision::kExact, {5, 16}, {65537, 262144}, 0},
      {"batch between buckets",
       decode(8, 1, 64, 3, 50000),
       Decision::kNearest,
       {5, 16},
       {16385, 65536},
       std::log2(5.0 / 3.0)},
      {"longer than any",
       decode(8, 1, 64, 1, 1000000),
       Decision::kNearest,
       {1, 1},
       {65537, 262144},
       std::log2(1000000.0 / 262144.0)},
      {"shorter than any",
       decode(8, 1, 64, 1, 500),
       Decision::kNearest,
       {1, 1},
       {1025, 4096},
       std::log2(1025.0 / 500.0)},
      {"both dims outside",
       decode(8, 1, 64, 64, 8000),
       Decision::kNearest,
       {5, 16},
       {1025, 4096},
       std::log2(64.0 / 16.0) + std::log2(8000.0 / 4096.0)},
      {"prefill exact", prefill(true, 1, 8192, 8192), Decision::kExact, {1, 1}, {4097, 16384}, 0},
      {"prefill nearest", prefill(true, 2, 2048, 2048), Decision::kNearest, {1, 1}, {1025, 4096}, 1.0},
      {"untuned mask", prefill(false, 1, 4096, 4096), Decision::kDefault, {}, {}, 0},
      {"covered class", decode(12, 4, 128, 1, 4096), Decision::kDefault, {}, {}, 0},
      {"unknown class", decode(32, 8, 128, 1, 4096), Decision::kDefault, {}, {}, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    auto s = small(true).select(c.problem);
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ(s->decision, c.decision) << decision_name(s->decision) << ": " << s->reason;
    if (c.decision == Decision::kDefault) {
      EXPECT_EQ(s->entry, nullptr);
      EXPECT_EQ(s->cubin, nullptr);  // compile through NVRTC
      EXPECT_EQ(s->measured_us, 0);
      EXPECT_EQ(s->config_text,
                s->family->canonical(s->family->default_config(c.problem, *codegen::DeviceLimits::for_arch("sm_90a"))));
      continue;
    }
    ASSERT_NE(s->entry, nullptr);
    EXPECT_EQ(s->entry->batch.lo, c.batch.lo);
    EXPECT_EQ(s->entry->batch.hi, c.batch.hi);
    EXPECT_EQ(s->entry->kv_len.lo, c.kv.lo);
    EXPECT_EQ(s->entry->kv_len.hi, c.kv.hi);
    EXPECT_NEAR(s->distance, c.distance, 1e-9) << s->reason;
    EXPECT_EQ(s->measured_us, s->entry->median_us);
    ASSERT_NE(s->cubin, nullptr);
    EXPECT_EQ(s->cubin->arch, "sm_90a");
    EXPECT_EQ(s->cubin->variant_id, s->entry->variant_id);
    EXPECT_EQ(s->config_text, small(true).contents().variant(s->entry->variant_id)->config);
  }
}

TEST(Dispatch, PrefillNearestCountsTheQueryDim) {
  // q 2048 and kv 2048 lie inside the 1025-4096 buckets; batch 2 is a factor of 2 above the
  // batch-1 bucket.
  auto s = small(true).select(prefill(true, 2, 2048, 2048));
  ASSERT_TRUE(s.ok());
  EXPECT_NEAR(s->distance, 1.0, 1e-9);
  s = small(true).select(prefill(true, 1, 512, 2048));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->decision, Decision::kNearest);
  EXPECT_NEAR(s->distance, std::log2(1025.0 / 512.0), 1e-9);
}

TEST(Dispatch, ForbiddenJitServesTunedShapesAndRefusesTheRest) {
  auto s = small(false).select(decode(8, 1, 64, 3, 50000));
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->decision, Decision::kNearest);
  for (const AttentionProblem& p :
       {decode(12, 4, 128, 1, 4096), decode(32, 8, 128, 1, 4096), prefill(false, 1, 4096, 4096)}) {
    auto r = small(false).select(p);
    ASSERT_FALSE(r.ok()) << p.name();
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(r.status().message().find("JIT compilation is forbidden"), std::string::npos);
    EXPECT_NE(r.status().message().find(p.name()), std::string::npos) << r.status().message();
  }
  auto covered = small(false).select(decode(12, 4, 128, 1, 4096));
  EXPECT_NE(covered.status().message().find("heuristic default only"), std::string::npos);
}

TEST(Dispatch, OneQueryDecodeIgnoresTheMask) {
  AttentionProblem p = decode(8, 1, 64, 1, 4096);
  p.causal = false;
  auto s = small(true).select(p);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->decision, Decision::kExact);
}

TEST(Dispatch, InvalidProblemsAreErrors) {
  AttentionProblem p = decode(8, 1, 64, 1, 4096);
  p.head_dim = 80;
  auto s = small(true).select(p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
}

TEST(Dispatch, BucketDistance) {
  Entry e;
  e.batch = {5, 16};
  e.q_len = {1, 1};
  e.kv_len = {1025, 4096};
  EXPECT_EQ(bucket_distance(decode(8, 1, 64, 5, 1025), e), 0);
  EXPECT_EQ(bucket_distance(decode(8, 1, 64, 16, 4096), e), 0);
  EXPECT_NEAR(bucket_distance(decode(8, 1, 64, 64, 4096), e), 2.0, 1e-12);  // one bucket step: 2
  EXPECT_NEAR(bucket_distance(decode(8, 1, 64, 16, 16384), e), 2.0, 1e-12);
  EXPECT_NEAR(bucket_distance(decode(8, 1, 64, 1, 256), e), std::log2(5.0) + std::log2(1025.0 / 256.0), 1e-12);
}

TEST(Dispatch, ClassSpecs) {
  auto c = parse_class_spec("decode/32:8/d128");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->name(), "decode 32:8 d128 bf16 causal q1");
  c = parse_class_spec("prefill/8:1/d64/fp16/noncausal");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->name(), "prefill 8:1 d64 fp16");
  c = parse_class_spec("decode/16:2/d64/q4");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->q_len, 4);
  for (const char* bad : {"decode", "decode/32:7/d128", "train/32:8/d128", "decode/32:8/128", "decode/32:8/d80",
                          "prefill/8:1/d64/q4", "decode/32:8/d128/fp8", "decode/32:8/d128/q17"}) {
    auto r = parse_class_spec(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(bad), std::string::npos) << r.status().message();
  }
}

TEST(Dispatch, BucketsAreTheTunersBuckets) {
  EXPECT_EQ(bucket_of(1).hi, 1);
  EXPECT_EQ(bucket_of(3).lo, 2);
  EXPECT_EQ(bucket_of(16).lo, 5);
  EXPECT_EQ(bucket_of(17).hi, 64);
  EXPECT_EQ(bucket_of(4096).lo, 1025);
  EXPECT_EQ(bucket_of(32768).hi, 65536);
}

}  // namespace
}  // namespace gqaforge::library
