// Generated CPU kernels against the fp64 oracle over the coverage matrix of docs/testing.md:
// group sizes 1..32 (MHA, MQA), head dims 64/96/128/256, bf16 and fp16, lengths that are multiples
// of no tile, q_len != kv_len both ways (causal bottom-right), rows that see no key, per-sequence
// lengths with 0 and 1, packed varlen with an empty sequence, decode q_len 1..16 and split-KV with
// 1, 2, odd, many and key-less splits; then the config axes (vector width, head blocks, tiles).
#include <string>
#include <vector>

#include "codegen/family.h"
#include "cpu_test_util.h"

namespace gqaforge::cpu {
namespace {

using codegen::DType;
using codegen::Phase;

struct Case {
  Phase phase;
  int hq, hkv, d;
  DType dtype;
  bool causal;
  int batch, q, kv;
  std::vector<int> kv_lens;  // per sequence (decode, or prefill varlen with q_lens)
  std::vector<int> q_lens;   // prefill varlen
  std::string config;        // overrides of the heuristic default
};

std::string case_name(const Case& c) {
  return fmt::format("{} {}:{} d{} {} {} b{} q{} kv{} [{}]", codegen::phase_name(c.phase), c.hq, c.hkv, c.d,
                     codegen::dtype_name(c.dtype), c.causal ? "causal" : "full", c.batch, c.q, c.kv, c.config);
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << case_name(c);
}

class CpuCoverage : public ::testing::TestWithParam<Case> {};

TEST_P(CpuCoverage, MatchesOracle) {
  GQF_REQUIRE_CPU_MODULE(k);
  const Case& c = GetParam();
  const auto p = codegen::make_problem(c.phase, c.hq, c.hkv, c.d, c.dtype, c.causal, c.batch, c.q, c.kv);
  const codegen::KernelFamily& family = codegen::family_for(p, codegen::Target::kCpu);
  auto config = family.configure(p, c.config, k->limits());
  ASSERT_TRUE(config.ok()) << config.status().message();
  const bool varlen = !c.q_lens.empty();
  auto check =
      k->check(p, family, *config, std::hash<std::string>()(case_name(c)) & 0xffffff, c.kv_lens, c.q_lens, varlen);
  ASSERT_TRUE(check.ok()) << check.status().message();
  EXPECT_TRUE(check->report.passed) << check->config << ": " << check->report.summary();
}

std::vector<Case> cases() {
  const auto bf = DType::kBF16, fp = DType::kFP16;
  const auto dec = Phase::kDecode, pre = Phase::kPrefill;
  std::vector<Case> v;
  // Decode: every group size of the matrix, MHA and MQA.
  for (auto [hq, hkv] : std::vector<std::pair<int, int>>{
           {8, 8}, {8, 4}, {6, 2}, {8, 2}, {10, 2}, {12, 2}, {14, 2}, {8, 1}, {16, 1}, {32, 1}}) {
    v.push_back({dec, hq, hkv, 128, bf, true, 2, 1, 1000, {}, {}, ""});
  }
  // Head dims x dtypes, speculative q_len, per-sequence lengths with 1 and 0.
  for (int d : {64, 96, 128, 256}) {
    for (auto dt : {bf, fp}) {
      v.push_back({dec, 32, 8, d, dt, true, 3, 1, 799, {799, 1, 97}, {}, ""});
      v.push_back({dec, 20, 4, d, dt, true, 2, 4, 1023, {1023, 0}, {}, ""});
      v.push_back({dec, 28, 4, d, dt, true, 1, 16, 113, {}, {}, ""});
      v.push_back({dec, 8, 1, d, dt, true, 1, 3, 4224, {}, {}, "num_splits=7"});
    }
  }
  // Split-KV: 1, 2, odd, many, and splits without keys (short sequences of a long batch).
  for (const char* splits : {"num_splits=1", "num_splits=2", "num_splits=5", "num_splits=64", "num_splits=200"}) {
    v.push_back({dec, 16, 2, 128, bf, true, 4, 1, 5000, {5000, 17, 1, 2500}, {}, splits});
    v.push_back({dec, 6, 1, 64, fp, true, 1, 2, 3001, {}, {}, splits});
  }
  // Long context.
  v.push_back({dec, 8, 1, 128, bf, true, 1, 1, 131072, {}, {}, ""});
  // Prefill: lengths that are multiples of no tile, q != kv both ways, causal and full.
  const int lens[][2] = {{1, 1},       {3, 3},     {97, 97},   {113, 113}, {239, 239}, {799, 799},
                         {1023, 1023}, {97, 1023}, {1023, 97}, {1, 799},   {239, 3}};
  const int groups[][2] = {{8, 8}, {8, 4}, {6, 2}, {8, 2}, {5, 1}, {6, 1}, {7, 1}, {8, 1}, {3, 1}, {32, 1}};
  int i = 0;
  for (auto& l : lens) {
    for (bool causal : {true, false}) {
      auto& g = groups[i % 10];
      const int d = std::array<int, 4>{64, 96, 128, 256}[static_cast<size_t>(i % 4)];
      v.push_back({pre, g[0], g[1], d, i % 3 == 0 ? fp : bf, causal, 1 + i % 2, l[0], l[1], {}, {}, ""});
      ++i;
    }
  }
  // Packed varlen with an empty sequence and q != kv per sequence.
  v.push_back({pre, 8, 2, 128, bf, true, 4, 300, 400, {400, 0, 17, 250}, {300, 0, 5, 250}, ""});
  v.push_back({pre, 7, 1, 64, fp, false, 3, 200, 200, {1, 200, 99}, {200, 3, 99}, ""});
  // The config axes: vector widths, a head block that does not divide G, tiles and row blocks.
  for (const char* cfg : {"vec=4", "vec=8", "head_block=3", "head_block=1,block_n=16", "block_n=256"}) {
    v.push_back({dec, 14, 2, 96, bf, true, 2, 2, 999, {999, 500}, {}, cfg});
    v.push_back({pre, 7, 1, 128, fp, true, 1, 333, 555, {}, {}, cfg});
  }
  for (const char* cfg : {"block_m=1", "block_m=4", "block_m=64,block_n=32", "threads=1"}) {
    v.push_back({pre, 6, 2, 64, bf, true, 2, 555, 333, {}, {}, cfg});
  }
  return v;
}

INSTANTIATE_TEST_SUITE_P(Coverage, CpuCoverage, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           std::string name = fmt::format("{}_{}", param_info.index, case_name(param_info.param));
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace gqaforge::cpu
