// Prefill family on the GPU against the oracle: lengths that are multiples of no tile, q_len
// != kv_len both ways, causal and not, all group sizes, head dims, dtypes, GQA packing,
// varlen batches with a zero-length sequence. The default config is the Hopper (wgmma)
// generation where the device has it and the head dim allows it (64, 128, 256); explicit
// wgmma=0 cases keep the mma.sync generation covered on the same shapes, and explicit wgmma=1
// cases cover its other tilings (one warpgroup, block_n 64/192, the staggered 3-4 stage loop).
#include "gpu_fixture.h"

namespace gqaforge::runtime::testing {

using codegen::DType;

namespace {

struct PrefillCase {
  int hq, hkv, d;
  DType dtype;
  bool causal;
  int batch, q, kv;
  std::string config;
};

class GpuPrefill : public ::testing::TestWithParam<PrefillCase> {};

codegen::AttentionProblem prefill_problem(const PrefillCase& c) {
  return codegen::make_problem(codegen::Phase::kPrefill, c.hq, c.hkv, c.d, c.dtype, c.causal, c.batch, c.q, c.kv);
}

// gtest prints parameters with this (test names and failure messages stay readable).
void PrintTo(const PrefillCase& c, std::ostream* os) {
  *os << prefill_problem(c).name() << " " << c.config;
}

TEST_P(GpuPrefill, MatchesOracle) {
  GQF_REQUIRE_GPU(env);
  const PrefillCase& c = GetParam();
  if (c.config.find("wgmma=1") != std::string::npos && !env->info.limits().has_wgmma) {
    GTEST_SKIP() << "no warpgroup mma on " << env->info.name;
  }
  CheckOptions o;
  o.seed = static_cast<uint64_t>(c.q * 1000003 + c.kv * 31 + c.hq * 7 + c.d);
  expect_correct(env, prefill_problem(c), "prefill", c.config, o);
}

std::vector<PrefillCase> prefill_cases() {
  const auto bf = DType::kBF16;
  const auto fp = DType::kFP16;
  std::vector<PrefillCase> v;
  const int lens[][2] = {{1, 1},       {3, 3},       {97, 97},   {113, 113}, {239, 239}, {799, 799},
                         {1023, 1023}, {4224, 4224}, {97, 1023}, {1023, 97}, {1, 799},   {239, 3}};
  const int groups[][2] = {{8, 8}, {8, 4}, {6, 2}, {8, 2}, {5, 1}, {6, 1}, {7, 1}, {8, 1}};
  int i = 0;
  for (auto& l : lens) {
    for (bool causal : {true, false}) {
      auto& g = groups[i % 8];
      int d = std::array<int, 4>{64, 96, 128, 256}[static_cast<size_t>(i % 4)];
      v.push_back({g[0], g[1], d, i % 3 == 0 ? fp : bf, causal, 1 + i % 2, l[0], l[1], ""});
      ++i;
    }
  }
  // GQA packing on and off for odd groups and every head dim.
  for (int d : {64, 96, 128, 256}) {
    for (const char* pack : {"pack_gqa=0", "pack_gqa=1"}) {
      v.push_back({10, 2, d, bf, true, 2, 333, 555, pack});
      v.push_back({7, 1, d, fp, true, 1, 555, 333, pack});
    }
  }
  v.push_back({32, 8, 128, bf, true, 1, 4096, 4096, ""});
  v.push_back({16, 2, 256, bf, false, 1, 2048, 2048, ""});
  // The mma.sync generation on the head dims the default gives to wgmma.
  for (int d : {64, 128, 256}) {
    for (bool causal : {true, false}) {
      v.push_back({8, 2, d, bf, causal, 2, 799, 1023, "wgmma=0"});
      v.push_back({7, 1, d, fp, causal, 1, 1023, 97, "wgmma=0"});
    }
  }
  // Other wgmma tilings: one warpgroup, narrow and wide K/V tiles, a third stage.
  v.push_back({6, 1, 128, bf, true, 2, 1023, 799, "wgmma=1,warps=4,block_m=64,block_n=64"});
  // Three or four stages with two warpgroups: the staggered loop (warpgroup 1 a tile behind).
  v.push_back({6, 1, 128, bf, true, 2, 1023, 799, "wgmma=1,warps=4,block_m=64,block_n=64,stages=3"});
  v.push_back({8, 2, 64, fp, true, 1, 97, 4224, "wgmma=1,warps=8,block_m=128,block_n=64,stages=4"});
  v.push_back({12, 4, 128, bf, true, 1, 4224, 1023, "wgmma=1,warps=8,block_m=128,block_n=128,stages=3"});
  v.push_back({5, 1, 256, fp, true, 1, 239, 3, "wgmma=1,warps=4,block_m=64,block_n=64"});
  v.push_back({8, 8, 64, fp, false, 1, 4224, 4224, "wgmma=1,warps=8,block_m=128,block_n=192,stages=2"});
  v.push_back({32, 8, 128, bf, false, 1, 4224, 4224, "wgmma=1,warps=8,block_m=128,block_n=128,stages=3"});
  v.push_back({8, 1, 128, bf, true, 1, 113, 4224, "wgmma=1,warps=8,block_m=128,block_n=64,pack_gqa=0"});
  return v;
}

INSTANTIATE_TEST_SUITE_P(Coverage, GpuPrefill, ::testing::ValuesIn(prefill_cases()),
                         [](const ::testing::TestParamInfo<PrefillCase>& param_info) {
                           return test_name(param_info.index,
                                            prefill_problem(param_info.param).name() + " " + param_info.param.config);
                         });

TEST(GpuPrefillVarlen, ZeroLengthSequenceAndUnequalLengths) {
  GQF_REQUIRE_GPU(env);
  for (bool causal : {true, false}) {
    PrefillCase c{12, 4, 128, DType::kBF16, causal, 5, 700, 900, ""};
    CheckOptions o;
    o.seed = causal ? 11 : 12;
    o.varlen = true;
    o.q_lens = {97, 0, 700, 5, 113};
    o.kv_lens = {113, 0, 900, 3, 97};
    expect_correct(env, prefill_problem(c), "prefill", "", o);
  }
}

}  // namespace
}  // namespace gqaforge::runtime::testing
