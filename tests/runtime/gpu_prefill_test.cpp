// Prefill family on the GPU against the oracle: lengths that are multiples of no tile, q_len
// != kv_len both ways, causal and not, all group sizes, head dims, dtypes, GQA packing,
// varlen batches with a zero-length sequence.
#include "gpu_fixture.h"

namespace gqaforge::rt::testing {
namespace {

struct PrefillCase {
  int hq, hkv, d;
  DType dtype;
  bool causal;
  int batch, q, kv;
  std::string config;
};

class GpuPrefill : public ::testing::TestWithParam<PrefillCase> {};

AttentionProblem prefill_problem(const PrefillCase& c) {
  return make_problem(Phase::kPrefill, c.hq, c.hkv, c.d, c.dtype, c.causal, c.batch, c.q, c.kv);
}

// gtest prints parameters with this (test names and failure messages stay readable).
void PrintTo(const PrefillCase& c, std::ostream* os) { *os << prefill_problem(c).name() << " " << c.config; }

TEST_P(GpuPrefill, MatchesOracle) {
  GQF_REQUIRE_GPU(env);
  const PrefillCase& c = GetParam();
  CheckOptions o;
  o.seed = static_cast<uint64_t>(c.q * 1000003 + c.kv * 31 + c.hq * 7 + c.d);
  expect_correct(env, prefill_problem(c), "prefill", c.config, o);
}

std::vector<PrefillCase> prefill_cases() {
  const auto bf = DType::kBF16;
  const auto fp = DType::kFP16;
  std::vector<PrefillCase> v;
  const int lens[][2] = {{1, 1}, {3, 3}, {97, 97}, {113, 113}, {239, 239}, {799, 799}, {1023, 1023},
                         {4224, 4224}, {97, 1023}, {1023, 97}, {1, 799}, {239, 3}};
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
  return v;
}

INSTANTIATE_TEST_SUITE_P(Coverage, GpuPrefill, ::testing::ValuesIn(prefill_cases()),
                         [](const ::testing::TestParamInfo<PrefillCase>& param_info) {
                           return test_name(param_info.index, prefill_problem(param_info.param).name() + " " + param_info.param.config);
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
}  // namespace gqaforge::rt::testing
