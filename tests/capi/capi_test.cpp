// The C API without running a kernel: opening (tuned, JIT only, refused files), dispatch
// through plans, and every call with bad arguments returning a status and a message.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "gqaforge/gqaforge.h"
#include "library/contents.h"
#include "runtime/cuda_driver.h"
#include "tests/library/test_util.h"

namespace {

using gqaforge::library::testing::run_sql;
using gqaforge::library::testing::scratch_dir;
using gqaforge::library::testing::slurp;
using gqaforge::library::testing::spill;
using gqaforge::library::testing::write_small_library;

const std::string& small_path() {
  static const std::string path = write_small_library(scratch_dir("capi"));
  return path;
}

std::string cache_dir() {
  return gqaforge::library::testing::test_cache_dir().string();
}

gqaforge_open_options options(uint32_t flags = 0, const char* arch = "sm_90a") {
  static const std::string cache = cache_dir();
  gqaforge_open_options o{};
  o.struct_size = sizeof(o);
  o.flags = flags;
  o.arch = arch;
  o.cache_dir = cache.c_str();
  return o;
}

// An enum holding a value outside its enumerators, as a C caller can pass one.
template <class Enum>
Enum raw_enum(int value) {
  static_assert(sizeof(Enum) == sizeof(int));
  Enum e;
  std::memcpy(&e, &value, sizeof(e));
  return e;
}

// The status and, on failure, the message, for assertions that show both.
struct Outcome {
  gqaforge_status status;
  std::string message;
};
Outcome outcome(gqaforge_status s) {
  return {s, s == GQAFORGE_STATUS_OK ? "" : gqaforge_last_error()};
}

gqaforge_library* open_small(uint32_t flags = 0) {
  gqaforge_open_options o = options(flags);
  gqaforge_library* lib = nullptr;
  const Outcome r = outcome(gqaforge_library_open(small_path().c_str(), &o, &lib));
  EXPECT_EQ(r.status, GQAFORGE_STATUS_OK) << r.message;
  return lib;
}

gqaforge_problem decode(int hq, int hkv, int d, int64_t batch, int64_t kv) {
  return gqaforge_problem_make(GQAFORGE_PHASE_DECODE, GQAFORGE_DTYPE_BF16, hq, hkv, d, 1, batch, 1, kv);
}

// The C problem of a library entry's measured point.
gqaforge_problem tuned_point(const gqaforge::library::LibraryContents& contents, const gqaforge::library::Entry& e) {
  const gqaforge::codegen::AttentionProblem t =
      contents.find_class(e.class_key)->cls.problem(e.tuned_batch, e.tuned_q_len, e.tuned_kv_len);
  return gqaforge_problem_make(
      t.phase == gqaforge::codegen::Phase::kDecode ? GQAFORGE_PHASE_DECODE : GQAFORGE_PHASE_PREFILL,
      t.dtype == gqaforge::codegen::DType::kFP16 ? GQAFORGE_DTYPE_FP16 : GQAFORGE_DTYPE_BF16, t.n_q_heads, t.n_kv_heads,
      t.head_dim, t.causal ? 1 : 0, t.batch, t.q_len, t.kv_len);
}

gqaforge_plan_info describe(const gqaforge_plan* plan) {
  gqaforge_plan_info info{};
  info.struct_size = sizeof(info);
  EXPECT_EQ(gqaforge_plan_describe(plan, &info), GQAFORGE_STATUS_OK) << gqaforge_last_error();
  return info;
}

TEST(CApi, VersionAndStatusNames) {
  EXPECT_EQ(gqaforge_version(), GQAFORGE_VERSION_MAJOR * 10000 + GQAFORGE_VERSION_MINOR * 100 + GQAFORGE_VERSION_PATCH);
  EXPECT_EQ(
      std::string(gqaforge_version_string())
          .rfind(fmt::format("{}.{}.{}", GQAFORGE_VERSION_MAJOR, GQAFORGE_VERSION_MINOR, GQAFORGE_VERSION_PATCH), 0),
      0u);
  EXPECT_STREQ(gqaforge_status_name(GQAFORGE_STATUS_OK), "ok");
  EXPECT_STREQ(gqaforge_status_name(GQAFORGE_STATUS_DATA_LOSS), "data_loss");
  EXPECT_STREQ(gqaforge_status_name(raw_enum<gqaforge_status>(99)), "unknown");
  EXPECT_STREQ(gqaforge_decision_name(GQAFORGE_DECISION_NEAREST), "nearest");
  EXPECT_STREQ(gqaforge_decision_name(raw_enum<gqaforge_decision>(-1)), "unknown");
}

TEST(CApi, OpensTheSmallLibrary) {
  gqaforge_library* lib = open_small();
  ASSERT_NE(lib, nullptr);
  gqaforge_library_info info{};
  info.struct_size = sizeof(info);
  ASSERT_EQ(gqaforge_library_info_get(lib, &info), GQAFORGE_STATUS_OK) << gqaforge_last_error();
  EXPECT_EQ(info.format_version, gqaforge::library::kFormatVersion);
  EXPECT_EQ(info.jit_only, 0);
  EXPECT_EQ(info.jit_allowed, 1);
  EXPECT_EQ(info.classes, 3);
  EXPECT_EQ(info.entries, 8);
  EXPECT_STREQ(info.arch, "sm_90a");
  EXPECT_STREQ(info.gpu_name, "NVIDIA H200");
  EXPECT_STREQ(info.refused_reason, "");
  EXPECT_EQ(gqaforge_library_close(lib), GQAFORGE_STATUS_OK);
  EXPECT_EQ(gqaforge_library_close(nullptr), GQAFORGE_STATUS_OK);
}

struct DispatchCase {
  const char* what;
  gqaforge_problem problem;
  gqaforge_decision decision;
  int64_t batch_lo, batch_hi, kv_lo, kv_hi;  // the bucket (0 for the default)
};

TEST(CApi, DispatchTable) {
  gqaforge_library* lib = open_small();
  ASSERT_NE(lib, nullptr);
  const DispatchCase cases[] = {
      {"tuned point", decode(8, 1, 64, 1, 4096), GQAFORGE_DECISION_EXACT, 1, 1, 1025, 4096},
      {"inside a bucket", decode(8, 1, 64, 9, 100000), GQAFORGE_DECISION_EXACT, 5, 16, 65537, 262144},
      {"between buckets", decode(8, 1, 64, 3, 50000), GQAFORGE_DECISION_NEAREST, 5, 16, 16385, 65536},
      {"covered by its default", decode(12, 4, 128, 1, 4096), GQAFORGE_DECISION_DEFAULT, 0, 0, 0, 0},
      {"not in the library", decode(32, 8, 128, 1, 4096), GQAFORGE_DECISION_DEFAULT, 0, 0, 0, 0},
  };
  for (const DispatchCase& c : cases) {
    SCOPED_TRACE(c.what);
    gqaforge_plan* plan = nullptr;
    const Outcome r = outcome(gqaforge_plan_create(lib, &c.problem, 0, &plan));
    ASSERT_EQ(r.status, GQAFORGE_STATUS_OK) << r.message;
    const gqaforge_plan_info info = describe(plan);
    EXPECT_EQ(info.decision, c.decision) << info.reason;
    EXPECT_EQ(info.bucket_batch_lo, c.batch_lo);
    EXPECT_EQ(info.bucket_batch_hi, c.batch_hi);
    EXPECT_EQ(info.bucket_kv_len_lo, c.kv_lo);
    EXPECT_EQ(info.bucket_kv_len_hi, c.kv_hi);
    EXPECT_STREQ(info.family, "decode");
    EXPECT_NE(std::string(info.config).find("num_splits="), std::string::npos) << info.config;
    EXPECT_FALSE(std::string(info.reason).empty());
    EXPECT_EQ(info.from_cubin, c.decision == GQAFORGE_DECISION_DEFAULT ? 0 : 1);
    EXPECT_EQ(info.measured_us > 0, c.decision != GQAFORGE_DECISION_DEFAULT);
    size_t bytes = 1;
    ASSERT_EQ(gqaforge_plan_workspace_size(plan, &bytes), GQAFORGE_STATUS_OK);
    EXPECT_EQ(bytes, info.workspace_bytes);
    if (!gqaforge::runtime::gpu_available()) {
      EXPECT_EQ(info.loaded, 0);
      EXPECT_FALSE(std::string(info.not_loaded).empty());
    }
    EXPECT_EQ(gqaforge_plan_destroy(plan), GQAFORGE_STATUS_OK);
  }
  // The same shapes with the heuristic forced: always the default.
  gqaforge_plan* plan = nullptr;
  const gqaforge_problem tuned = decode(8, 1, 64, 1, 4096);
  ASSERT_EQ(gqaforge_plan_create(lib, &tuned, GQAFORGE_PLAN_HEURISTIC_DEFAULT, &plan), GQAFORGE_STATUS_OK);
  EXPECT_EQ(describe(plan).decision, GQAFORGE_DECISION_DEFAULT);
  gqaforge_plan_destroy(plan);
  gqaforge_library_close(lib);
}

TEST(CApi, ForbiddenJitRefusesUntunedClasses) {
  gqaforge_library* lib = open_small(GQAFORGE_OPEN_FORBID_JIT);
  ASSERT_NE(lib, nullptr);
  gqaforge_plan* plan = nullptr;
  const gqaforge_problem tuned = decode(8, 1, 64, 2, 2000);
  ASSERT_EQ(gqaforge_plan_create(lib, &tuned, 0, &plan), GQAFORGE_STATUS_OK) << gqaforge_last_error();
  EXPECT_EQ(describe(plan).decision, GQAFORGE_DECISION_NEAREST);
  gqaforge_plan_destroy(plan);
  const gqaforge_problem untuned = decode(32, 8, 128, 1, 4096);
  const Outcome r = outcome(gqaforge_plan_create(lib, &untuned, 0, &plan));
  EXPECT_EQ(r.status, GQAFORGE_STATUS_FAILED_PRECONDITION);
  EXPECT_EQ(plan, nullptr);
  EXPECT_NE(r.message.find("JIT compilation is forbidden"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("32:8"), std::string::npos) << r.message;
  const Outcome h = outcome(gqaforge_plan_create(lib, &tuned, GQAFORGE_PLAN_HEURISTIC_DEFAULT, &plan));
  EXPECT_EQ(h.status, GQAFORGE_STATUS_FAILED_PRECONDITION);
  EXPECT_NE(h.message.find("forbids JIT"), std::string::npos) << h.message;
  gqaforge_library_close(lib);
}

TEST(CApi, JitOnlyWithoutAFile) {
  gqaforge_open_options o = options(0, nullptr);
  gqaforge_library* lib = nullptr;
  ASSERT_EQ(gqaforge_library_open(nullptr, &o, &lib), GQAFORGE_STATUS_OK) << gqaforge_last_error();
  gqaforge_library_info info{};
  info.struct_size = sizeof(info);
  ASSERT_EQ(gqaforge_library_info_get(lib, &info), GQAFORGE_STATUS_OK);
  EXPECT_EQ(info.jit_only, 1);
  EXPECT_EQ(info.format_version, 0);
  EXPECT_STREQ(info.path, "");
  gqaforge_plan* plan = nullptr;
  const gqaforge_problem p =
      gqaforge_problem_make(GQAFORGE_PHASE_PREFILL, GQAFORGE_DTYPE_FP16, 32, 8, 128, 1, 2, 1000, 1000);
  ASSERT_EQ(gqaforge_plan_create(lib, &p, 0, &plan), GQAFORGE_STATUS_OK) << gqaforge_last_error();
  const gqaforge_plan_info pi = describe(plan);
  EXPECT_EQ(pi.decision, GQAFORGE_DECISION_DEFAULT);
  EXPECT_STREQ(pi.family, "prefill");
  EXPECT_NE(std::string(pi.reason).find("no library"), std::string::npos) << pi.reason;
  EXPECT_EQ(pi.workspace_bytes, 0u);
  gqaforge_plan_destroy(plan);
  gqaforge_library_close(lib);

  gqaforge_open_options forbid = options(GQAFORGE_OPEN_FORBID_JIT);
  const Outcome r = outcome(gqaforge_library_open(nullptr, &forbid, &lib));
  EXPECT_EQ(r.status, GQAFORGE_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(lib, nullptr);
  EXPECT_NE(r.message.find("FORBID_JIT"), std::string::npos) << r.message;
}

// A refused file: with JIT allowed the library opens JIT-only and says why; with JIT forbidden
// the open fails with the same reason.
void expect_refused(const std::string& path, const char* arch, gqaforge_status status, const std::string& why) {
  SCOPED_TRACE(path);
  gqaforge_open_options forbid = options(GQAFORGE_OPEN_FORBID_JIT, arch);
  gqaforge_library* lib = nullptr;
  const Outcome r = outcome(gqaforge_library_open(path.c_str(), &forbid, &lib));
  EXPECT_EQ(r.status, status) << r.message;
  EXPECT_EQ(lib, nullptr);
  EXPECT_NE(r.message.find(why), std::string::npos) << r.message;

  gqaforge_open_options allow = options(0, arch);
  ASSERT_EQ(gqaforge_library_open(path.c_str(), &allow, &lib), GQAFORGE_STATUS_OK) << gqaforge_last_error();
  gqaforge_library_info info{};
  info.struct_size = sizeof(info);
  ASSERT_EQ(gqaforge_library_info_get(lib, &info), GQAFORGE_STATUS_OK);
  EXPECT_EQ(info.jit_only, 1);
  EXPECT_NE(std::string(info.refused_reason).find(why), std::string::npos) << info.refused_reason;
  gqaforge_plan* plan = nullptr;
  const gqaforge_problem tuned = decode(8, 1, 64, 1, 4096);
  ASSERT_EQ(gqaforge_plan_create(lib, &tuned, 0, &plan), GQAFORGE_STATUS_OK) << gqaforge_last_error();
  const gqaforge_plan_info pi = describe(plan);
  EXPECT_EQ(pi.decision, GQAFORGE_DECISION_DEFAULT);
  EXPECT_NE(std::string(pi.reason).find("refused"), std::string::npos) << pi.reason;
  gqaforge_plan_destroy(plan);
  gqaforge_library_close(lib);
}

TEST(CApi, DamagedAndForeignLibrariesAreRefused) {
  const auto dir = scratch_dir("capi-refused");
  {
    // A flipped byte in one cubin: opening hashes no cubin, the plan that picks it does.
    const std::string path = write_small_library(dir);
    std::string bytes = slurp(path);
    const auto& contents = gqaforge::library::testing::small_library();
    const auto& victim = contents.cubins.front();
    const std::string needle = victim.image.substr(victim.image.size() / 2, 48);
    const size_t at = bytes.find(needle);
    ASSERT_NE(at, std::string::npos);
    bytes[at + 20] = static_cast<char>(bytes[at + 20] ^ 0x10);
    const std::string flipped = (dir / "flipped.gqalib").string();
    spill(flipped, bytes);
    const gqaforge::library::Entry* entry = nullptr;
    for (const auto& e : contents.entries) {
      if (e.variant_id == victim.variant_id) entry = &e;
    }
    ASSERT_NE(entry, nullptr);
    const gqaforge_problem p = tuned_point(contents, *entry);
    for (uint32_t flags : {uint32_t{GQAFORGE_OPEN_FORBID_JIT}, 0u}) {
      gqaforge_open_options o = options(flags);
      gqaforge_library* lib = nullptr;
      ASSERT_EQ(gqaforge_library_open(flipped.c_str(), &o, &lib), GQAFORGE_STATUS_OK) << gqaforge_last_error();
      gqaforge_plan* plan = nullptr;
      const Outcome r = outcome(gqaforge_plan_create(lib, &p, 0, &plan));
      if (flags == GQAFORGE_OPEN_FORBID_JIT) {
        EXPECT_EQ(r.status, GQAFORGE_STATUS_DATA_LOSS) << r.message;
        EXPECT_NE(r.message.find("damaged"), std::string::npos) << r.message;
        EXPECT_NE(r.message.find(fmt::format("variant {}", victim.variant_id)), std::string::npos) << r.message;
      } else {
        ASSERT_EQ(r.status, GQAFORGE_STATUS_OK) << r.message;
        const gqaforge_plan_info info = describe(plan);
        EXPECT_EQ(info.decision, GQAFORGE_DECISION_EXACT);
        EXPECT_EQ(info.from_cubin, 0);
        EXPECT_NE(std::string(info.reason).find("damaged"), std::string::npos) << info.reason;
        gqaforge_plan_destroy(plan);
      }
      // The library's other cubins still serve their buckets.
      for (const auto& e : contents.entries) {
        if (e.variant_id == victim.variant_id) continue;
        const gqaforge_problem q = tuned_point(contents, e);
        ASSERT_EQ(gqaforge_plan_create(lib, &q, 0, &plan), GQAFORGE_STATUS_OK) << gqaforge_last_error();
        EXPECT_EQ(describe(plan).from_cubin, 1) << e.class_key;
        gqaforge_plan_destroy(plan);
        break;
      }
      gqaforge_library_close(lib);
    }
  }
  {
    const std::string newer = (dir / "newer.gqalib").string();
    spill(newer, slurp(write_small_library(dir)));
    run_sql(newer, fmt::format("PRAGMA user_version = {}", gqaforge::library::kFormatVersion + 1));
    expect_refused(newer, "sm_90a", GQAFORGE_STATUS_FAILED_PRECONDITION, "newer");
  }
  expect_refused(write_small_library(dir), "sm_80", GQAFORGE_STATUS_FAILED_PRECONDITION, "not for this device's sm_80");
  {
    const std::string bytes = slurp(write_small_library(dir));
    const std::string cut = (dir / "cut.gqalib").string();
    spill(cut, bytes.substr(0, bytes.size() / 2));
    expect_refused(cut, "sm_90a", GQAFORGE_STATUS_DATA_LOSS, "truncated");
  }
  gqaforge_open_options o = options(GQAFORGE_OPEN_FORBID_JIT);
  gqaforge_library* lib = nullptr;
  const std::string missing = (dir / "missing.gqalib").string();
  const Outcome r = outcome(gqaforge_library_open(missing.c_str(), &o, &lib));
  EXPECT_EQ(r.status, GQAFORGE_STATUS_NOT_FOUND) << r.message;
  EXPECT_NE(r.message.find(missing), std::string::npos) << r.message;
}

TEST(CApi, BadOpenArguments) {
  gqaforge_library* lib = nullptr;
  Outcome r = outcome(gqaforge_library_open(small_path().c_str(), nullptr, nullptr));
  EXPECT_EQ(r.status, GQAFORGE_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(r.message.find("out must not be null"), std::string::npos) << r.message;
  gqaforge_open_options o = options();
  o.struct_size = 3;
  r = outcome(gqaforge_library_open(small_path().c_str(), &o, &lib));
  EXPECT_EQ(r.status, GQAFORGE_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(r.message.find("struct_size is 3"), std::string::npos) << r.message;
  o = options(0x80);
  r = outcome(gqaforge_library_open(small_path().c_str(), &o, &lib));
  EXPECT_NE(r.message.find("unknown bits 0x80"), std::string::npos) << r.message;
  o = options(0, "sm_9000");
  r = outcome(gqaforge_library_open(small_path().c_str(), &o, &lib));
  EXPECT_EQ(r.status, GQAFORGE_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(r.message.find("sm_9000"), std::string::npos) << r.message;
  EXPECT_EQ(lib, nullptr);
  gqaforge_library_info info{};
  info.struct_size = sizeof(info);
  EXPECT_EQ(gqaforge_library_info_get(nullptr, &info), GQAFORGE_STATUS_INVALID_ARGUMENT);
  // A success clears the message.
  ASSERT_EQ(gqaforge_version() > 0, true);
  lib = open_small();
  EXPECT_STREQ(gqaforge_last_error(), "");
  info.struct_size = 1;
  EXPECT_EQ(gqaforge_library_info_get(lib, &info), GQAFORGE_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gqaforge_last_error()).find("gqaforge_library_info"), std::string::npos);
  gqaforge_library_close(lib);
}

struct BadProblem {
  const char* what;
  void (*edit)(gqaforge_problem&);
  const char* message;
};

TEST(CApi, BadProblemsAreRefusedWithTheValue) {
  gqaforge_library* lib = open_small();
  ASSERT_NE(lib, nullptr);
  const BadProblem cases[] = {
      {"struct size", [](gqaforge_problem& p) { p.struct_size = 8; }, "struct_size is 8"},
      {"phase", [](gqaforge_problem& p) { p.phase = raw_enum<gqaforge_phase>(7); }, "phase 7"},
      {"dtype", [](gqaforge_problem& p) { p.dtype = raw_enum<gqaforge_dtype>(5); }, "dtype 5"},
      {"head dim", [](gqaforge_problem& p) { p.head_dim = 80; }, "head dim 80 is not supported"},
      {"heads", [](gqaforge_problem& p) { p.n_kv_heads = 3; }, "heads 32:3"},
      {"zero heads", [](gqaforge_problem& p) { p.n_q_heads = 0; }, "must be positive"},
      {"batch", [](gqaforge_problem& p) { p.max_batch = 0; }, "batch 0"},
      {"kv len", [](gqaforge_problem& p) { p.max_kv_len = -5; }, "kv_len -5"},
      {"decode q len", [](gqaforge_problem& p) { p.max_q_len = 17; }, "decode q_len 17"},
      {"causal", [](gqaforge_problem& p) { p.causal = 2; }, "causal 2"},
      {"flags", [](gqaforge_problem& p) { p.flags = 1u << 9; }, "unknown bits 0x200"},
      {"varlen decode", [](gqaforge_problem& p) { p.flags = GQAFORGE_PROBLEM_VARLEN; }, "VARLEN is for prefill"},
      {"capacity", [](gqaforge_problem& p) { p.kv_capacity = 100; }, "kv_capacity 100 is below max_kv_len 4096"},
      {"scale", [](gqaforge_problem& p) { p.softmax_scale = -1.0f; }, "softmax_scale -1"},
      {"stride not 8",
       [](gqaforge_problem& p) {
         p.k = {4096 * 8 * 128, 8 * 128, 100};
       },
       "the head stride 100 must be a positive multiple of 8"},
      {"heads overlap",
       [](gqaforge_problem& p) {
         p.q = {32 * 128, 32 * 128, 64};
       },
       "Q strides (batch 4096, token 4096, head 64) overlap: the head stride 64 is below the head_dim 128"},
      {"tokens overlap",
       [](gqaforge_problem& p) {
         p.v = {4096 * 8 * 128, 4 * 128, 128};
       },
       "V strides (batch 4194304, token 512, head 128) overlap: the token stride 512 is below the head 8"},
      {"batches overlap",
       [](gqaforge_problem& p) {
         p.k = {1024, 8 * 128, 128};
       },
       "the batch stride 1024 is below the token 4096 x 1024 elements"},
  };
  for (const BadProblem& c : cases) {
    SCOPED_TRACE(c.what);
    gqaforge_problem p = decode(32, 8, 128, 2, 4096);
    c.edit(p);
    gqaforge_plan* plan = reinterpret_cast<gqaforge_plan*>(&p);  // overwritten with null on failure
    const Outcome r = outcome(gqaforge_plan_create(lib, &p, 0, &plan));
    EXPECT_EQ(r.status, GQAFORGE_STATUS_INVALID_ARGUMENT) << r.message;
    EXPECT_EQ(plan, nullptr);
    EXPECT_NE(r.message.find(c.message), std::string::npos) << r.message;
    EXPECT_EQ(r.message.rfind("gqaforge_plan_create: ", 0), 0u) << r.message;
  }
  // A KV cache laid out [batch, n_kv, capacity, head_dim] is a legal layout.
  gqaforge_problem head_major = decode(32, 8, 128, 2, 4096);
  head_major.kv_capacity = 8192;
  head_major.k = head_major.v = {8 * 8192 * 128, 128, 8192 * 128};
  gqaforge_plan* plan = nullptr;
  EXPECT_EQ(gqaforge_plan_create(lib, &head_major, 0, &plan), GQAFORGE_STATUS_OK) << gqaforge_last_error();
  gqaforge_plan_destroy(plan);
  const gqaforge_problem ok = decode(32, 8, 128, 2, 4096);
  EXPECT_EQ(gqaforge_plan_create(nullptr, &ok, 0, &plan), GQAFORGE_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(gqaforge_plan_create(lib, nullptr, 0, &plan), GQAFORGE_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(gqaforge_plan_create(lib, &ok, 0, nullptr), GQAFORGE_STATUS_INVALID_ARGUMENT);
  const Outcome r = outcome(gqaforge_plan_create(lib, &ok, 0x10, &plan));
  EXPECT_NE(r.message.find("unknown flag bits 0x10"), std::string::npos) << r.message;
  EXPECT_EQ(gqaforge_plan_destroy(nullptr), GQAFORGE_STATUS_OK);
  size_t bytes = 0;
  EXPECT_EQ(gqaforge_plan_workspace_size(nullptr, &bytes), GQAFORGE_STATUS_INVALID_ARGUMENT);
  gqaforge_plan_info info{};
  info.struct_size = sizeof(info);
  EXPECT_EQ(gqaforge_plan_describe(nullptr, &info), GQAFORGE_STATUS_INVALID_ARGUMENT);
  gqaforge_library_close(lib);
}

struct BadRun {
  const char* what;
  void (*edit)(gqaforge_run_args&, size_t& workspace_bytes);
  const char* message;
};

TEST(CApi, BadRunArgumentsAreRefusedBeforeAnyLaunch) {
  gqaforge_library* lib = open_small();
  ASSERT_NE(lib, nullptr);
  // A decode plan with a split-KV workspace: batch 1 at 64K keys splits.
  gqaforge_problem p = decode(8, 1, 64, 4, 65536);
  p.flags = GQAFORGE_PROBLEM_KV_LENS;
  gqaforge_plan* plan = nullptr;
  ASSERT_EQ(gqaforge_plan_create(lib, &p, 0, &plan), GQAFORGE_STATUS_OK) << gqaforge_last_error();
  size_t need = 0;
  ASSERT_EQ(gqaforge_plan_workspace_size(plan, &need), GQAFORGE_STATUS_OK);
  ASSERT_GT(need, 0u) << describe(plan).config;
  // Pointers that are never dereferenced: the checks come first.
  alignas(16) static char fake[64];
  const BadRun cases[] = {
      {"struct size", [](gqaforge_run_args& a, size_t&) { a.struct_size = 0; }, "struct_size is 0"},
      {"null q", [](gqaforge_run_args& a, size_t&) { a.q = nullptr; }, "must not be null"},
      {"misaligned o", [](gqaforge_run_args& a, size_t&) { a.o = fake + 4; }, "16-byte aligned"},
      {"batch", [](gqaforge_run_args& a, size_t&) { a.batch = 5; }, "batch 5 is outside the plan's 1..4"},
      {"zero batch", [](gqaforge_run_args& a, size_t&) { a.batch = 0; }, "batch 0 is outside"},
      {"q len", [](gqaforge_run_args& a, size_t&) { a.q_len = 2; }, "q_len 2 is not the plan's 1"},
      {"kv len", [](gqaforge_run_args& a, size_t&) { a.kv_len = 65537; },
       "kv_len 65537 is outside the plan's 1..65536"},
      {"kv lens missing", [](gqaforge_run_args& a, size_t&) { a.kv_lens = nullptr; }, "kv_lens is null"},
      {"lse unasked", [](gqaforge_run_args& a, size_t&) { a.lse = reinterpret_cast<float*>(fake); }, "lse is set"},
      {"cu_seqlens unasked",
       [](gqaforge_run_args& a, size_t&) { a.cu_seqlens_q = reinterpret_cast<const int32_t*>(fake); },
       "cu_seqlens_q is set"},
      {"workspace small", [](gqaforge_run_args&, size_t& ws) { ws -= 1; }, "needs a workspace of"},
  };
  for (const BadRun& c : cases) {
    SCOPED_TRACE(c.what);
    gqaforge_run_args a{};
    a.struct_size = sizeof(a);
    a.batch = 4, a.q_len = 1, a.kv_len = 65536;
    a.q = a.k = a.v = fake;
    a.o = fake;
    a.kv_lens = reinterpret_cast<const int32_t*>(fake);
    size_t ws = need;
    c.edit(a, ws);
    const Outcome r = outcome(gqaforge_plan_run(plan, &a, fake, ws, nullptr));
    EXPECT_EQ(r.status, GQAFORGE_STATUS_INVALID_ARGUMENT) << r.message;
    EXPECT_NE(r.message.find(c.message), std::string::npos) << r.message;
  }
  EXPECT_EQ(gqaforge_plan_run(nullptr, nullptr, nullptr, 0, nullptr), GQAFORGE_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(gqaforge_plan_run(plan, nullptr, nullptr, 0, nullptr), GQAFORGE_STATUS_INVALID_ARGUMENT);
  if (!gqaforge::runtime::gpu_available()) {
    // Good arguments without a GPU: the plan is not loaded, and run says so.
    gqaforge_run_args a{};
    a.struct_size = sizeof(a);
    a.batch = 1, a.q_len = 1, a.kv_len = 100;
    a.q = a.k = a.v = fake;
    a.o = fake;
    a.kv_lens = reinterpret_cast<const int32_t*>(fake);
    const Outcome r = outcome(gqaforge_plan_run(plan, &a, fake, need, nullptr));
    EXPECT_EQ(r.status, GQAFORGE_STATUS_UNAVAILABLE);
    EXPECT_NE(r.message.find("not loaded"), std::string::npos) << r.message;
  }
  gqaforge_plan_destroy(plan);
  gqaforge_library_close(lib);
}

TEST(CApi, PlansOutliveTheirLibraryHandle) {
  gqaforge_library* lib = open_small();
  ASSERT_NE(lib, nullptr);
  gqaforge_plan* plan = nullptr;
  const gqaforge_problem p = decode(8, 1, 64, 1, 4096);
  ASSERT_EQ(gqaforge_plan_create(lib, &p, 0, &plan), GQAFORGE_STATUS_OK);
  gqaforge_library_close(lib);
  EXPECT_EQ(describe(plan).decision, GQAFORGE_DECISION_EXACT);
  gqaforge_plan_destroy(plan);
}

TEST(CApi, ConcurrentPlansFromOneLibrary) {
  gqaforge_library* lib = open_small();
  ASSERT_NE(lib, nullptr);
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const gqaforge_problem p = decode(8, 1, 64, 1 + (t + i) % 16, 1000 + 997 * i);
        gqaforge_plan* plan = nullptr;
        if (gqaforge_plan_create(lib, &p, 0, &plan) != GQAFORGE_STATUS_OK) ++failures[static_cast<size_t>(t)];
        // Each thread's own failure message.
        const gqaforge_problem bad = decode(8, 1, 80 + t, 1, 100);
        gqaforge_plan* none = nullptr;
        gqaforge_plan_create(lib, &bad, 0, &none);
        if (std::string(gqaforge_last_error()).find(fmt::format("head dim {}", 80 + t)) == std::string::npos) {
          ++failures[static_cast<size_t>(t)];
        }
        gqaforge_plan_destroy(plan);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
  gqaforge_library_close(lib);
}

}  // namespace
