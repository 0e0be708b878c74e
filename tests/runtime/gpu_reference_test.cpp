// GPU reference kernel against the CPU fp64 oracle over the coverage of docs/testing.md.
#include "gpu_fixture.h"

namespace gqaforge::runtime::testing {

using codegen::DType;

namespace {

struct RefCase {
  int hq, hkv, d;
  DType dtype;
  bool causal;
  int batch, q, kv;
};

// gtest prints parameters with this (test names and failure messages stay readable).
void PrintTo(const RefCase& c, std::ostream* os) {
  *os << fmt::format("{}:{} d{} q{} kv{}", c.hq, c.hkv, c.d, c.q, c.kv);
}

class GpuReference : public ::testing::TestWithParam<RefCase> {};

TEST_P(GpuReference, MatchesCpuOracle) {
  GQF_REQUIRE_GPU(env);
  const RefCase& c = GetParam();
  codegen::AttentionProblem p =
      codegen::make_problem(codegen::Phase::kPrefill, c.hq, c.hkv, c.d, c.dtype, c.causal, c.batch, c.q, c.kv);
  CheckOptions o;
  o.seed = static_cast<uint64_t>(c.q * 131 + c.kv * 7 + c.hq);
  o.cpu_work_limit = 1e18;  // always the CPU oracle
  expect_correct(env, p, "reference", "", o);
}

std::vector<RefCase> reference_cases() {
  std::vector<RefCase> cases;
  const int lens[][2] = {{1, 1}, {3, 97}, {113, 113}, {97, 239}, {239, 97}, {799, 1023}, {1, 1023}};
  const int groups[][2] = {{4, 4}, {8, 4}, {6, 2}, {8, 2}, {5, 1}, {12, 2}, {7, 1}, {16, 2}, {16, 1}, {32, 1}};
  int i = 0;
  for (auto& l : lens) {
    for (int d : {64, 96, 128, 256}) {
      auto& g = groups[i % 10];
      cases.push_back({g[0], g[1], d, i % 2 ? DType::kFP16 : DType::kBF16, i % 3 != 0, 1 + i % 3, l[0], l[1]});
      ++i;
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Coverage, GpuReference, ::testing::ValuesIn(reference_cases()),
                         [](const ::testing::TestParamInfo<RefCase>& param_info) {
                           const RefCase& c = param_info.param;
                           return test_name(param_info.index,
                                            fmt::format("{}_{}_d{}_{}_{}_b{}_q{}_kv{}", c.hq, c.hkv, c.d,
                                                        codegen::dtype_name(c.dtype), c.causal ? "causal" : "full",
                                                        c.batch, c.q, c.kv));
                         });

TEST(GpuReferenceVarlen, ZeroLengthSequence) {
  GQF_REQUIRE_GPU(env);
  codegen::AttentionProblem p =
      codegen::make_problem(codegen::Phase::kPrefill, 6, 2, 64, DType::kBF16, true, 4, 300, 400);
  CheckOptions o;
  o.seed = 7;
  o.varlen = true;
  o.q_lens = {97, 0, 300, 5};
  o.kv_lens = {113, 0, 400, 3};
  expect_correct(env, p, "reference", "", o);
}

}  // namespace
}  // namespace gqaforge::runtime::testing
