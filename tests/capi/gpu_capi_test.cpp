// The C API on the GPU: plans from a JIT-only library (the heuristic defaults) and from the
// small tuned library (its cubins) pass the correctness gate over the decode and prefill
// coverage; a run captured in a CUDA graph and replayed gives the same bits.
#include <cstring>

#include "gqaforge/gqaforge.h"
#include "runtime/device_attention.h"
#include "tests/library/test_util.h"
#include "tests/runtime/gpu_fixture.h"

namespace gqaforge::runtime::testing {
namespace {

using codegen::AttentionProblem;
using codegen::DType;
using codegen::make_problem;
using codegen::Phase;

gqaforge_library* open_library(const char* path) {
  static const std::string cache = library::testing::test_cache_dir().string();
  gqaforge_open_options o{};
  o.struct_size = sizeof(o);
  o.cache_dir = cache.c_str();
  gqaforge_library* out = nullptr;
  EXPECT_EQ(gqaforge_library_open(path, &o, &out), GQAFORGE_STATUS_OK) << gqaforge_last_error();
  return out;
}

gqaforge_library* jit_library() {
  static gqaforge_library* lib = open_library(nullptr);
  return lib;
}

gqaforge_library* small_library() {
  static const std::string path = library::testing::write_small_library(library::testing::scratch_dir("capi-gpu"));
  static gqaforge_library* lib = open_library(path.c_str());
  return lib;
}

// The C problem of `p` with the strides of `params` (the checker's tensors).
gqaforge_problem c_problem(const AttentionProblem& p, const GqaParams& params) {
  gqaforge_problem c =
      gqaforge_problem_make(p.phase == Phase::kDecode ? GQAFORGE_PHASE_DECODE : GQAFORGE_PHASE_PREFILL,
                            p.dtype == DType::kFP16 ? GQAFORGE_DTYPE_FP16 : GQAFORGE_DTYPE_BF16, p.n_q_heads,
                            p.n_kv_heads, p.head_dim, p.causal ? 1 : 0, p.batch, p.q_len, p.kv_len);
  // The checker's tensors always carry per-sequence key counts (packed ones their prefix sums).
  if (params.lse != nullptr) c.flags |= GQAFORGE_PROBLEM_LSE;
  if (params.cu_seqlens_q != nullptr) {
    c.flags |= GQAFORGE_PROBLEM_VARLEN;
  } else if (params.kv_lens != nullptr) {
    c.flags |= GQAFORGE_PROBLEM_KV_LENS;
  }
  c.q = {params.q_stride_b, params.q_stride_s, params.q_stride_h};
  c.k = {params.k_stride_b, params.k_stride_s, params.k_stride_h};
  c.v = {params.v_stride_b, params.v_stride_s, params.v_stride_h};
  c.o = {params.o_stride_b, params.o_stride_s, params.o_stride_h};
  return c;
}

gqaforge_run_args run_args(const GqaParams& params) {
  gqaforge_run_args a{};
  a.struct_size = sizeof(a);
  a.batch = params.batch, a.q_len = params.q_len, a.kv_len = params.kv_len;
  a.q = params.q, a.k = params.k, a.v = params.v, a.o = params.o, a.lse = params.lse;
  a.cu_seqlens_q = params.cu_seqlens_q, a.cu_seqlens_k = params.cu_seqlens_k;
  a.kv_lens = params.cu_seqlens_q != nullptr ? nullptr : params.kv_lens;  // packed: from cu_seqlens_k
  return a;
}

constexpr int kAnyTuned = -1;  // exact or nearest

// A plan of `lib` for the checker's tensors, run on a workspace full of garbage (a run must not
// depend on what the workspace held).
struct PlanRun {
  gqaforge_library* lib;
  const AttentionProblem& problem;
  int expected;        // a gqaforge_decision, or kAnyTuned
  std::string config;  // what the plan chose, for the failure message

  Status operator()(const GqaParams& params, CUstream stream) {
    const gqaforge_problem c = c_problem(problem, params);
    gqaforge_plan* plan = nullptr;
    if (gqaforge_plan_create(lib, &c, 0, &plan) != GQAFORGE_STATUS_OK)
      return internal_error("{}", gqaforge_last_error());
    gqaforge_plan_info info{};
    info.struct_size = sizeof(info);
    gqaforge_plan_describe(plan, &info);
    config = fmt::format("{} [{}] {} ({})", info.family, info.config, info.reason, static_cast<int>(info.decision));
    if (expected == kAnyTuned) {
      EXPECT_NE(info.decision, GQAFORGE_DECISION_DEFAULT) << config;
    } else {
      EXPECT_EQ(static_cast<int>(info.decision), expected) << config;
    }
    EXPECT_EQ(info.loaded, 1) << info.not_loaded;
    DeviceBuffer workspace;
    if (info.workspace_bytes > 0) {
      GQF_ASSIGN_OR_RETURN(workspace, DeviceBuffer::alloc(info.workspace_bytes));
      GQF_RETURN_IF_ERROR(workspace.fill_bytes(0xab, stream));
    }
    const gqaforge_run_args a = run_args(params);
    const gqaforge_status s =
        gqaforge_plan_run(plan, &a, reinterpret_cast<void*>(workspace.ptr()), info.workspace_bytes, stream);
    Status out = s == GQAFORGE_STATUS_OK ? ok_status() : internal_error("{}", gqaforge_last_error());
    // The workspace must outlive the kernels: wait before it is freed.
    GQF_ASSIGN_OR_RETURN(const DriverApi* api, driver());
    GQF_CU_CHECK(api, cuStreamSynchronize(stream));
    gqaforge_plan_destroy(plan);
    return out;
  }
};

struct Case {
  AttentionProblem problem;
  CheckOptions options;
  bool tuned = false;  // from the small library (else the JIT-only one)
  int decision = GQAFORGE_DECISION_DEFAULT;
};

std::string case_name(const Case& c) {
  std::string s = c.problem.name();
  if (!c.options.kv_lens.empty()) s += " kv_lens";
  if (c.options.varlen) s += " varlen";
  if (c.options.kv_head_major) s += " head-major";
  if (c.tuned) s += " tuned";
  return s;
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << case_name(c);
}

Case decode_case(int hq, int hkv, int d, DType dt, int batch, int q, int kv, std::vector<int> kv_lens = {},
                 bool head_major = false) {
  Case c;
  c.problem = make_problem(Phase::kDecode, hq, hkv, d, dt, true, batch, q, kv);
  c.options.kv_lens = std::move(kv_lens);
  c.options.kv_head_major = head_major;
  return c;
}

Case prefill_case(int hq, int hkv, int d, DType dt, bool causal, int batch, int q, int kv) {
  Case c;
  c.problem = make_problem(Phase::kPrefill, hq, hkv, d, dt, causal, batch, q, kv);
  return c;
}

std::vector<Case> cases() {
  const auto bf = DType::kBF16;
  const auto fp = DType::kFP16;
  std::vector<Case> v;
  for (int d : {64, 96, 128, 256}) {
    for (auto dt : {bf, fp}) {
      v.push_back(decode_case(32, 8, d, dt, 3, 1, 799, {799, 1, 97}));
      v.push_back(decode_case(20, 4, d, dt, 2, 4, 1023, {1023, 239}));
      v.push_back(prefill_case(8, 2, d, dt, true, 2, 799, 1023));
      v.push_back(prefill_case(7, 1, d, dt, false, 1, 1023, 97));
    }
  }
  for (auto [hq, hkv] : std::vector<std::pair<int, int>>{{8, 8}, {12, 4}, {16, 2}, {32, 1}}) {
    v.push_back(decode_case(hq, hkv, 128, bf, 2, 1, 1000));
  }
  v.push_back(decode_case(28, 4, 128, bf, 1, 16, 113));
  v.push_back(decode_case(8, 1, 128, bf, 1, 1, 131072));  // many splits
  v.push_back(decode_case(16, 2, 128, bf, 4, 1, 5000, {5000, 17, 1, 2500}));
  v.push_back(decode_case(8, 1, 128, bf, 3, 1, 9000, {9000, 1, 4500}, true));
  v.push_back(decode_case(32, 8, 128, bf, 64, 1, 1024));
  v.push_back(prefill_case(32, 8, 128, bf, true, 1, 4096, 4096));
  v.push_back(prefill_case(5, 1, 256, fp, true, 1, 239, 3));
  v.push_back(prefill_case(8, 8, 64, fp, true, 1, 1, 1));
  {
    Case c = prefill_case(12, 4, 128, bf, true, 5, 700, 900);
    c.options.varlen = true;
    c.options.q_lens = {97, 0, 700, 5, 113};
    c.options.kv_lens = {113, 0, 900, 3, 97};
    v.push_back(c);
  }
  // The small library's cubins: exact and nearest buckets of decode 8:1 d64, and its prefill.
  for (auto [batch, kv, decision] :
       std::vector<std::tuple<int, int, gqaforge_decision>>{{1, 4096, GQAFORGE_DECISION_EXACT},
                                                            {9, 70000, GQAFORGE_DECISION_EXACT},
                                                            {3, 50000, GQAFORGE_DECISION_NEAREST}}) {
    Case c = decode_case(8, 1, 64, bf, batch, 1, kv);
    c.tuned = true;
    c.decision = decision;
    v.push_back(c);
  }
  {
    Case c = prefill_case(8, 1, 64, bf, true, 1, 4096, 4096);
    c.tuned = true;
    c.decision = kAnyTuned;
    v.push_back(c);
  }
  for (size_t i = 0; i < v.size(); ++i) v[i].options.seed = 1000 + i;
  return v;
}

class GpuCApi : public ::testing::TestWithParam<Case> {};

TEST_P(GpuCApi, MatchesOracle) {
  GQF_REQUIRE_GPU(env);
  const Case& c = GetParam();
  PlanRun run{c.tuned ? small_library() : jit_library(), c.problem, c.decision, ""};
  auto result = check_launch(
      *env->jit, c.problem, [&](const GqaParams& p, CUstream s) { return run(p, s); }, c.options, env->stream.get());
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_TRUE(result->report.passed) << case_name(c) << "\n" << run.config << "\n" << result->report.summary();
}

INSTANTIATE_TEST_SUITE_P(Coverage, GpuCApi, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           return test_name(param_info.index, case_name(param_info.param));
                         });

// Captured once, replayed twice over poisoned outputs: the same bits as a direct run.
TEST(GpuCApiGraph, CapturedRunReplaysTheSameResult) {
  GQF_REQUIRE_GPU(env);
  for (const AttentionProblem& p : {make_problem(Phase::kDecode, 16, 2, 128, DType::kBF16, true, 2, 1, 70000),
                                    make_problem(Phase::kPrefill, 8, 2, 128, DType::kBF16, true, 2, 777, 999)}) {
    SCOPED_TRACE(p.name());
    HostAttention host = make_host_attention(p, 7);
    auto dev = DeviceAttention::upload(host, true);
    ASSERT_TRUE(dev.ok()) << dev.status().message();
    const gqaforge_problem c = c_problem(p, dev->params);
    gqaforge_plan* plan = nullptr;
    ASSERT_EQ(gqaforge_plan_create(jit_library(), &c, 0, &plan), GQAFORGE_STATUS_OK) << gqaforge_last_error();
    size_t bytes = 0;
    ASSERT_EQ(gqaforge_plan_workspace_size(plan, &bytes), GQAFORGE_STATUS_OK);
    if (p.phase == Phase::kDecode) {
      EXPECT_GT(bytes, 0u) << "the decode case should split";
    }
    DeviceBuffer workspace;
    if (bytes > 0) workspace = std::move(DeviceBuffer::alloc(bytes).value());
    const gqaforge_run_args a = run_args(dev->params);
    void* ws = reinterpret_cast<void*>(workspace.ptr());
    CUstream stream = env->stream.get();

    ASSERT_TRUE(dev->poison(stream).ok());
    ASSERT_EQ(gqaforge_plan_run(plan, &a, ws, bytes, stream), GQAFORGE_STATUS_OK) << gqaforge_last_error();
    ASSERT_TRUE(env->stream.synchronize().ok());
    const std::vector<uint16_t> direct = dev->download_o().value();
    const std::vector<float> direct_lse = dev->download_lse().value();

    auto graph = GraphExec::capture(stream, [&]() -> Status {
      if (gqaforge_plan_run(plan, &a, ws, bytes, stream) != GQAFORGE_STATUS_OK) {
        return internal_error("{}", gqaforge_last_error());
      }
      return ok_status();
    });
    ASSERT_TRUE(graph.ok()) << graph.status().message();
    for (int replay = 0; replay < 2; ++replay) {
      ASSERT_TRUE(dev->poison(stream).ok());
      // Garbage in the workspace between replays: the captured run zeroes what it needs.
      if (bytes > 0) {
        ASSERT_TRUE(workspace.fill_bytes(0x5a, stream).ok());
      }
      ASSERT_TRUE(graph->launch(stream).ok());
      ASSERT_TRUE(env->stream.synchronize().ok());
      EXPECT_EQ(dev->download_o().value(), direct) << "replay " << replay;
      const std::vector<float> lse = dev->download_lse().value();
      EXPECT_EQ(std::memcmp(lse.data(), direct_lse.data(), lse.size() * sizeof(float)), 0) << "replay " << replay;
    }
    // And the direct run was right.
    AttentionResult oracle = cpu_attention_fp64(host), lowp = cpu_attention_lowp(host);
    CheckReport r = check_attention(host, direct, &direct_lse, oracle, lowp);
    EXPECT_TRUE(r.passed) << r.summary();
    gqaforge_plan_destroy(plan);
  }
}

// A plan keeps the tensor maps of its last call's K/V (TMA kernels): a call on other tensors
// must encode them again. One plan runs on cache A, then B, then A; each result must match
// the oracle of its own inputs.
TEST(GpuCApiTma, OnePlanFollowsItsCallsFromCacheToCache) {
  GQF_REQUIRE_GPU(env);
  const AttentionProblem p = make_problem(Phase::kDecode, 8, 1, 128, DType::kBF16, true, 2, 1, 5000);
  HostAttention host_a = make_host_attention(p, 11, {5000, 4000}), host_b = make_host_attention(p, 12, {3000, 5000});
  auto a = DeviceAttention::upload(host_a, true);
  auto b = DeviceAttention::upload(host_b, true);
  ASSERT_TRUE(a.ok() && b.ok());
  const gqaforge_problem c = c_problem(p, a->params);
  gqaforge_plan* plan = nullptr;
  ASSERT_EQ(gqaforge_plan_create(jit_library(), &c, 0, &plan), GQAFORGE_STATUS_OK) << gqaforge_last_error();
  size_t bytes = 0;
  ASSERT_EQ(gqaforge_plan_workspace_size(plan, &bytes), GQAFORGE_STATUS_OK);
  DeviceBuffer workspace;
  if (bytes > 0) workspace = std::move(DeviceBuffer::alloc(bytes).value());
  void* ws = reinterpret_cast<void*>(workspace.ptr());
  CUstream stream = env->stream.get();
  for (int step = 0; step < 3; ++step) {
    DeviceAttention& dev = step == 1 ? *b : *a;
    const HostAttention& host = step == 1 ? host_b : host_a;
    SCOPED_TRACE(step == 1 ? "cache B" : "cache A");
    ASSERT_TRUE(dev.poison(stream).ok());
    const gqaforge_run_args args = run_args(dev.params);
    ASSERT_EQ(gqaforge_plan_run(plan, &args, ws, bytes, stream), GQAFORGE_STATUS_OK) << gqaforge_last_error();
    ASSERT_TRUE(env->stream.synchronize().ok());
    const std::vector<uint16_t> o = dev.download_o().value();
    const std::vector<float> lse = dev.download_lse().value();
    CheckReport r = check_attention(host, o, &lse, cpu_attention_fp64(host), cpu_attention_lowp(host));
    EXPECT_TRUE(r.passed) << r.summary();
  }
  gqaforge_plan_destroy(plan);
}

}  // namespace
}  // namespace gqaforge::runtime::testing
