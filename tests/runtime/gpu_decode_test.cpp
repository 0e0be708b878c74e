// Decode family on the GPU: every variant kind against the oracle over the coverage of
// docs/testing.md (group sizes, head dims, dtypes, q_len 1..16, unequal lengths, splits), for
// both K/V copy paths (the default on sm_90 is TMA for head dims 64/128/256; "tma=0" is the
// cp.async ring). Cache rows past a sequence's keys hold NaN (make_host_attention).
#include "gpu_fixture.h"

namespace gqaforge::runtime::testing {

using codegen::DType;

namespace {

struct DecodeCase {
  int hq, hkv, d;
  DType dtype;
  int batch, q, kv;
  std::vector<int> kv_lens;    // empty = kv for all
  std::string config;          // overrides of the heuristic default
  bool kv_head_major = false;  // K/V as [batch, n_kv, kv_len, head_dim]
};

std::string case_name(const DecodeCase& c) {
  return fmt::format("{}:{} d{} {} b{} q{} kv{} [{}]{}", c.hq, c.hkv, c.d, codegen::dtype_name(c.dtype), c.batch, c.q,
                     c.kv, c.config, c.kv_head_major ? " head-major" : "");
}

// gtest prints parameters with this (test names and failure messages stay readable).
void PrintTo(const DecodeCase& c, std::ostream* os) {
  *os << case_name(c);
}

class GpuDecode : public ::testing::TestWithParam<DecodeCase> {};

TEST_P(GpuDecode, MatchesOracle) {
  GQF_REQUIRE_GPU(env);
  const DecodeCase& c = GetParam();
  codegen::AttentionProblem p =
      codegen::make_problem(codegen::Phase::kDecode, c.hq, c.hkv, c.d, c.dtype, true, c.batch, c.q, c.kv);
  CheckOptions o;
  o.seed = std::hash<std::string>()(case_name(c)) & 0xffffff;
  o.kv_lens = c.kv_lens;
  o.kv_head_major = c.kv_head_major;
  expect_correct(env, p, "decode", c.config, o);
}

std::vector<DecodeCase> decode_cases() {
  const auto bf = DType::kBF16;
  const auto fp = DType::kFP16;
  std::vector<DecodeCase> v;
  // Group sizes with both inner loops, head dim 128.
  for (auto [hq, hkv] : std::vector<std::pair<int, int>>{
           {8, 8}, {8, 4}, {12, 4}, {16, 4}, {10, 2}, {12, 2}, {14, 2}, {16, 2}, {16, 1}, {32, 1}}) {
    v.push_back({hq, hkv, 128, bf, 2, 1, 1000, {}, ""});
    v.push_back({hq, hkv, 128, bf, 2, 1, 1000, {}, "use_mma=1"});
    v.push_back({hq, hkv, 128, bf, 2, 1, 1000, {1000, 333}, "tma=0"});
    if (hq / hkv <= 4) v.push_back({hq, hkv, 128, fp, 2, 1, 1000, {}, "use_mma=0"});
  }
  // Head dims x dtypes, speculative q_len, unequal lengths including 1 and 0-split tails.
  for (int d : {64, 96, 128, 256}) {
    for (auto dt : {bf, fp}) {
      v.push_back({32, 8, d, dt, 3, 1, 799, {799, 1, 97}, ""});
      v.push_back({20, 4, d, dt, 2, 4, 1023, {1023, 239}, ""});
      v.push_back({28, 4, d, dt, 1, 16, 113, {}, ""});
      v.push_back({8, 1, d, dt, 1, 3, 4224, {}, "num_splits=7"});
      v.push_back({32, 8, d, dt, 3, 1, 799, {799, 1, 97}, "tma=0"});
      v.push_back({28, 4, d, dt, 1, 16, 113, {}, "tma=0"});
    }
  }
  // Split-KV: 1, 2, odd, many, splits that see no keys; fused and separate combine.
  for (const char* splits : {"num_splits=1", "num_splits=2", "num_splits=5", "num_splits=64", "num_splits=200"}) {
    for (const char* fused : {"fused_combine=0", "fused_combine=1"}) {
      std::string cfg = std::string(splits) + "," + fused;
      v.push_back({16, 2, 128, bf, 4, 1, 5000, {5000, 17, 1, 2500}, cfg});
      v.push_back({6, 1, 64, fp, 1, 2, 3001, {}, cfg});
      v.push_back({16, 2, 128, bf, 4, 1, 5000, {5000, 17, 1, 2500}, cfg + ",tma=0"});
    }
  }
  // Long contexts (the 128K case is checked against the fp64 oracle on the CPU too).
  v.push_back({8, 1, 128, bf, 1, 1, 16384, {}, ""});
  v.push_back({32, 8, 128, bf, 1, 1, 16384, {}, ""});
  v.push_back({8, 1, 128, bf, 1, 1, 131072, {}, ""});
  v.push_back({16, 2, 64, bf, 2, 1, 131072, {131072, 65536}, ""});
  // The [batch, n_kv, kv_len, head_dim] cache layout.
  v.push_back({8, 1, 128, bf, 3, 1, 9000, {9000, 1, 4500}, "", true});
  v.push_back({32, 8, 64, fp, 2, 4, 2000, {}, "num_splits=3,fused_combine=1", true});
  v.push_back({8, 1, 128, bf, 3, 1, 9000, {9000, 1, 4500}, "tma=0", true});
  v.push_back({16, 4, 256, fp, 2, 2, 3000, {2999, 65}, "num_splits=4", true});
  // Large batch, odd batch.
  v.push_back({32, 8, 128, bf, 64, 1, 1024, {}, ""});
  v.push_back({40, 8, 128, fp, 7, 1, 2048, {}, ""});
  // Tile-config variety.
  for (const char* cfg : {"block_n=32,warps=2,stages=2", "block_n=128,stages=2", "block_n=128,warps=8,stages=2",
                          "warps=2,stages=4", "block_n=16,warps=1"}) {
    v.push_back({32, 4, 128, bf, 2, 2, 1500, {1500, 333}, cfg});
    v.push_back({32, 4, 128, bf, 2, 2, 1500, {1500, 333}, std::string(cfg) + ",tma=0"});
  }
  // TMA boxes of 256 keys, and of more keys than the whole cache holds.
  v.push_back({16, 2, 64, bf, 2, 1, 3000, {3000, 77}, "block_n=256,stages=2"});
  v.push_back({8, 1, 128, fp, 2, 1, 40, {40, 9}, "block_n=128,stages=2"});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Coverage, GpuDecode, ::testing::ValuesIn(decode_cases()),
                         [](const ::testing::TestParamInfo<DecodeCase>& param_info) {
                           return test_name(param_info.index, case_name(param_info.param));
                         });

}  // namespace
}  // namespace gqaforge::runtime::testing
