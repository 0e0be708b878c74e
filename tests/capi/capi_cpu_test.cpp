// The C API on the host CPU (gqaforge_open_options.arch "cpu"): plans of the CPU module's kernels
// run on host memory and are judged against the fp64 oracle on the coverage's hard cases
// (per-sequence lengths with 0 and 1, packed varlen with an empty sequence, split-KV, odd
// groups and head dims); bad arguments are refused by name.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <fmt/format.h>

#include "gqaforge/gqaforge.h"
#include "runtime/host_attention.h"

namespace {

using gqaforge::codegen::AttentionProblem;
using gqaforge::codegen::DType;
using gqaforge::codegen::Phase;

#ifndef GQAFORGE_TEST_CPU_MODULE
#define GQF_REQUIRE_CPU_TARGET() GTEST_SKIP() << "the CPU backend module was not built (no LLVM 14 at configure time)"
#else
#define GQF_REQUIRE_CPU_TARGET() (void)0
#endif

gqaforge_library* open_cpu(uint32_t flags = 0, const char* path = nullptr, gqaforge_status* status = nullptr) {
  gqaforge_open_options o{};
  o.struct_size = sizeof(o);
  o.flags = flags;
  o.arch = "cpu";
  gqaforge_library* lib = nullptr;
  const gqaforge_status s = gqaforge_library_open(path, &o, &lib);
  if (status != nullptr) *status = s;
  return lib;
}

struct Case {
  Phase phase;
  int hq, hkv, d;
  DType dtype;
  int batch, q, kv;
  std::vector<int> kv_lens, q_lens;  // q_lens: packed varlen prefill
};

void run_case(gqaforge_library* lib, const Case& c) {
  const AttentionProblem p =
      gqaforge::codegen::make_problem(c.phase, c.hq, c.hkv, c.d, c.dtype, true, c.batch, c.q, c.kv);
  const bool varlen = !c.q_lens.empty();
  gqaforge::runtime::HostAttention host = gqaforge::runtime::make_host_attention(p, 7, c.kv_lens, c.q_lens, varlen);
  gqaforge_problem gp = gqaforge_problem_make(
      c.phase == Phase::kDecode ? GQAFORGE_PHASE_DECODE : GQAFORGE_PHASE_PREFILL,
      c.dtype == DType::kFP16 ? GQAFORGE_DTYPE_FP16 : GQAFORGE_DTYPE_BF16, c.hq, c.hkv, c.d, 1, c.batch, c.q, c.kv);
  gp.flags = GQAFORGE_PROBLEM_LSE | (varlen ? GQAFORGE_PROBLEM_VARLEN : GQAFORGE_PROBLEM_KV_LENS);
  gqaforge_plan* plan = nullptr;
  ASSERT_EQ(gqaforge_plan_create(lib, &gp, 0, &plan), GQAFORGE_STATUS_OK) << gqaforge_last_error();
  gqaforge_plan_info info{};
  info.struct_size = sizeof(info);
  ASSERT_EQ(gqaforge_plan_describe(plan, &info), GQAFORGE_STATUS_OK);
  EXPECT_EQ(info.loaded, 1) << info.not_loaded;
  EXPECT_EQ(info.decision, GQAFORGE_DECISION_DEFAULT);
  EXPECT_EQ(std::string(info.family), c.phase == Phase::kDecode ? "cpu_decode" : "cpu_prefill");
  size_t ws_bytes = 0;
  ASSERT_EQ(gqaforge_plan_workspace_size(plan, &ws_bytes), GQAFORGE_STATUS_OK);
  std::vector<float> workspace(ws_bytes / sizeof(float) + 1);
  std::vector<uint16_t> o(host.q.size(), gqaforge::runtime::kPoison16);
  std::vector<float> lse(static_cast<size_t>(host.q_rows() * c.hq));
  gqaforge_run_args a{};
  a.struct_size = sizeof(a);
  a.batch = c.batch;
  a.q_len = varlen ? *std::max_element(c.q_lens.begin(), c.q_lens.end()) : c.q;
  a.kv_len = varlen || !c.kv_lens.empty() ? *std::max_element(host.kv_lens.begin(), host.kv_lens.end()) : c.kv;
  a.kv_len = std::max<int64_t>(a.kv_len, 1);
  a.q_len = std::max<int64_t>(a.q_len, 1);
  a.q = host.q.data(), a.k = host.k.data(), a.v = host.v.data(), a.o = o.data(), a.lse = lse.data();
  if (varlen) {
    a.cu_seqlens_q = host.cu_q.data();
    a.cu_seqlens_k = host.cu_k.data();
  } else {
    a.kv_lens = host.kv_lens.data();
  }
  ASSERT_EQ(gqaforge_plan_run(plan, &a, ws_bytes > 0 ? workspace.data() : nullptr, ws_bytes, nullptr),
            GQAFORGE_STATUS_OK)
      << gqaforge_last_error();
  const auto oracle = gqaforge::runtime::cpu_attention_fp64(host);
  const auto lowp = gqaforge::runtime::cpu_attention_lowp(host);
  const auto report = gqaforge::runtime::check_attention(host, o, &lse, oracle, lowp);
  EXPECT_TRUE(report.passed) << p.name() << " [" << info.config << "]: " << report.summary();
  gqaforge_plan_destroy(plan);
}

TEST(CApiCpu, PlansRunOnHostMemoryAndMatchTheOracle) {
  GQF_REQUIRE_CPU_TARGET();
  gqaforge_library* lib = open_cpu();
  ASSERT_NE(lib, nullptr) << gqaforge_last_error();
  gqaforge_library_info li{};
  li.struct_size = sizeof(li);
  ASSERT_EQ(gqaforge_library_info_get(lib, &li), GQAFORGE_STATUS_OK);
  EXPECT_EQ(std::string(li.arch), "cpu");
  EXPECT_EQ(li.jit_only, 1);
  const auto bf = DType::kBF16, fp = DType::kFP16;
  const std::vector<Case> cases = {
      {Phase::kDecode, 32, 8, 128, bf, 3, 1, 799, {799, 1, 0}, {}},
      {Phase::kDecode, 12, 4, 96, fp, 2, 4, 3000, {3000, 17}, {}},
      {Phase::kDecode, 8, 1, 64, bf, 1, 1, 40000, {40000}, {}},  // split over the threads
      {Phase::kPrefill, 7, 1, 256, fp, 2, 239, 239, {239, 100}, {}},
      {Phase::kPrefill, 8, 2, 128, bf, 3, 300, 400, {400, 0, 250}, {300, 0, 250}},
  };
  for (const Case& c : cases) run_case(lib, c);
  gqaforge_library_close(lib);
}

TEST(CApiCpu, BadArgumentsAreNamed) {
  GQF_REQUIRE_CPU_TARGET();
  gqaforge_status status;
  // A library file holds CUDA kernels: refused by name when JIT is forbidden, JIT-only otherwise.
  EXPECT_EQ(open_cpu(GQAFORGE_OPEN_FORBID_JIT, "/some/tuned.gqflib", &status), nullptr);
  EXPECT_EQ(status, GQAFORGE_STATUS_FAILED_PRECONDITION);
  EXPECT_NE(std::string(gqaforge_last_error()).find("'/some/tuned.gqflib' holds CUDA kernels"), std::string::npos)
      << gqaforge_last_error();
  gqaforge_library* lib = open_cpu(0, "/some/tuned.gqflib", &status);
  ASSERT_NE(lib, nullptr) << gqaforge_last_error();
  gqaforge_library_info li{};
  li.struct_size = sizeof(li);
  ASSERT_EQ(gqaforge_library_info_get(lib, &li), GQAFORGE_STATUS_OK);
  EXPECT_NE(std::string(li.refused_reason).find("holds CUDA kernels"), std::string::npos);

  gqaforge_problem gp = gqaforge_problem_make(GQAFORGE_PHASE_DECODE, GQAFORGE_DTYPE_BF16, 8, 1, 64, 1, 1, 1, 1024);
  gqaforge_plan* plan = nullptr;
  ASSERT_EQ(gqaforge_plan_create(lib, &gp, 0, &plan), GQAFORGE_STATUS_OK) << gqaforge_last_error();
  std::vector<uint16_t> q(8 * 64), kv(1024 * 64), o(8 * 64);
  gqaforge_run_args a{};
  a.struct_size = sizeof(a);
  a.batch = 1, a.q_len = 1, a.kv_len = 1024;
  a.q = q.data(), a.k = kv.data(), a.v = kv.data(), a.o = o.data();
  int fake_stream = 0;
  EXPECT_EQ(gqaforge_plan_run(plan, &a, nullptr, 0, &fake_stream), GQAFORGE_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gqaforge_last_error()).find("pass stream NULL"), std::string::npos) << gqaforge_last_error();
  a.kv_len = 4096;
  EXPECT_EQ(gqaforge_plan_run(plan, &a, nullptr, 0, nullptr), GQAFORGE_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gqaforge_last_error()).find("kv_len 4096"), std::string::npos) << gqaforge_last_error();
  gqaforge_plan_destroy(plan);
  gqaforge_library_close(lib);
}

}  // namespace
