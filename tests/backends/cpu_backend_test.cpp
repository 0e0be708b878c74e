// The CPU backend beside the coverage: configs and validation messages, the object cache, the IR
// text, timing, and the tuner on the CPU writing a real SQLite database.
#include <filesystem>

#include "autotune/tuner.h"
#include "backends/cpu/cpu_loader.h"
#include "codegen/family.h"
#include "cpu_test_util.h"
#include "db/database.h"

namespace gqaforge::cpu {
namespace {

using codegen::AttentionProblem;
using codegen::Phase;

codegen::DeviceLimits avx2_host() {
  codegen::DeviceLimits l;
  l.cpu_threads = 8;
  l.cpu_vector_floats = 8;
  return l;
}

TEST(CpuConfig, HeuristicsAreValidAndNameTheirLimits) {
  const auto l = avx2_host();
  for (int d : {64, 96, 128, 256}) {
    auto dec = codegen::make_problem(Phase::kDecode, 64, 1, d, codegen::DType::kBF16, true, 1, 16, 8192);
    auto c = codegen::default_cpu_decode_config(dec, l);
    EXPECT_TRUE(c.validate(dec, l).ok()) << c.canonical() << ": " << c.validate(dec, l).message();
    EXPECT_EQ(c.vec, 8);
    auto pre = codegen::make_problem(Phase::kPrefill, 32, 8, d, codegen::DType::kFP16, true, 2, 1000, 1000);
    auto pc = codegen::default_cpu_prefill_config(pre, l);
    EXPECT_TRUE(pc.validate(pre, l).ok()) << pc.canonical();
  }
  auto dec = codegen::make_problem(Phase::kDecode, 32, 8, 128, codegen::DType::kBF16, true, 1, 1, 4096);
  codegen::CpuDecodeConfig c = codegen::default_cpu_decode_config(dec, l);
  c.vec = 16;
  EXPECT_EQ(c.validate(dec, l).message(), "vec=16 exceeds the 8 fp32 lanes of this CPU's vectors");
  c.vec = 8;
  c.block_n = 48;
  EXPECT_EQ(c.validate(dec, l).message(), "block_n=48 must be 16, 32, 64, 128 or 256");
  c.block_n = 64;
  c.head_block = 5;
  EXPECT_EQ(c.validate(dec, l).message(), "head_block=5 must be 0 (the whole group) or in 1..4 (G)");
  // A GPU's limits are no CPU.
  c.head_block = 0;
  EXPECT_EQ(c.validate(dec, codegen::DeviceLimits{}).message(),
            "CPU kernels need a CPU target (the device limits are a GPU's)");
  // Rows that would not fit a worker's stack.
  auto huge = codegen::make_problem(Phase::kDecode, 1024, 1, 256, codegen::DType::kBF16, true, 1, 16, 4096);
  codegen::CpuDecodeConfig h;
  h.vec = 8;
  h.head_block = 1024;
  EXPECT_EQ(h.validate(huge, l).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(codegen::default_cpu_decode_config(huge, l).validate(huge, l).ok());
}

TEST(CpuConfig, DecodeSplitsFillTheThreadsAndFamiliesAreFoundByTarget) {
  const auto l = avx2_host();
  auto p = codegen::make_problem(Phase::kDecode, 8, 1, 128, codegen::DType::kBF16, true, 1, 1, 131072);
  auto w = codegen::cpu_decode_work(p, codegen::default_cpu_decode_config(p, l), l);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->num_splits, 32);  // four items per thread
  EXPECT_EQ(w->items(), 32);
  EXPECT_STREQ(codegen::family_for(p, codegen::Target::kCpu).name(), "cpu_decode");
  EXPECT_STREQ(codegen::family_for(p).name(), "decode");
  p.phase = Phase::kPrefill;
  EXPECT_STREQ(codegen::family_for(p, codegen::Target::kCpu).name(), "cpu_prefill");
}

TEST(CpuModule, IrTextAndObjectCache) {
  GQF_REQUIRE_CPU_MODULE(k);
  auto p = codegen::make_problem(Phase::kDecode, 16, 2, 64, codegen::DType::kFP16, true, 1, 2, 300);
  const auto& fam = codegen::family_for(p, codegen::Target::kCpu);
  const auto config = fam.default_config(p, k->limits());
  auto spec = cpu_spec(p, fam, config);
  ASSERT_TRUE(spec.ok());
  auto jit = cpu_jit();
  ASSERT_TRUE(jit.ok());
  auto ir = (*jit)->ir_text(*spec, false);
  ASSERT_TRUE(ir.ok()) << ir.status().message();
  EXPECT_NE(ir->find("define void @" + spec->symbol()), std::string::npos);
  auto opt = (*jit)->ir_text(*spec, true);
  ASSERT_TRUE(opt.ok());
  EXPECT_NE(opt->find("fmul"), std::string::npos);

  // A fresh cache directory: compiled once, then loaded from the file by key.
  const std::string dir = std::string(GQAFORGE_BINARY_DIR) + "/cpu-test-cache-fresh";
  std::filesystem::remove_all(dir);
  spec->block_n = 128;  // a spec no other test compiles, so the process has not loaded it
  auto first = (*jit)->compile(*spec, dir);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_FALSE(first->cache_hit);
  EXPECT_TRUE(std::filesystem::exists(std::filesystem::path(dir) / "cpu" / (first->key + ".o")));
  auto again = (*jit)->compile(*spec, dir);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->cache_hit);
  EXPECT_EQ(again->fn, first->fn);
  // A spec the host cannot run is refused by name.
  codegen::CpuKernelSpec bad = *spec;
  bad.vec = 64;
  EXPECT_EQ(StatusCode::kInvalidArgument, (*jit)->compile(bad, dir).status().code());
}

TEST(CpuModule, EnvironmentNamesTheCpuAndCompiler) {
  GQF_REQUIRE_CPU_MODULE(k);
  const Environment e = cpu_environment(k->host());
  EXPECT_NE(e.gpu_name.find(k->host().model), std::string::npos);
  EXPECT_NE(e.gpu_name.find('['), std::string::npos);
  EXPECT_EQ(e.sm_count, k->host().threads);
  EXPECT_EQ(e.nvrtc_version.rfind("LLVM 14", 0), 0u);
  EXPECT_GE(k->host().vector_floats, 4);
}

TEST(CpuBackend, TimesAGatedKernel) {
  GQF_REQUIRE_CPU_MODULE(k);
  auto p = codegen::make_problem(Phase::kDecode, 8, 1, 128, codegen::DType::kBF16, true, 2, 1, 8192);
  const auto& fam = codegen::family_for(p, codegen::Target::kCpu);
  auto t = k->time(p, fam, fam.default_config(p, k->limits()), 3);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_GT(t->median_us, 0);
  EXPECT_EQ(t->repetitions, 3);
  EXPECT_GE(t->min_us, 0);
}

TEST(CpuBackend, TunesIntoADatabase) {
  GQF_REQUIRE_CPU_MODULE(k);
  const std::string path = std::string(GQAFORGE_BINARY_DIR) + "/cpu-tune-test.sqlite";
  std::filesystem::remove(path);
  auto db = db::Database::open(path);
  ASSERT_TRUE(db.ok()) << db.status().message();
  CpuBackend backend(k->cache_dir());
  autotune::TuneOptions o;
  o.strategy = "exhaustive";
  o.budget = 4;
  o.command_line = "cpu backend test";
  autotune::Tuner tuner(backend, **db, o);
  std::vector<AttentionProblem> problems = {
      codegen::make_problem(Phase::kDecode, 8, 2, 64, codegen::DType::kBF16, true, 1, 1, 2048),
      codegen::make_problem(Phase::kPrefill, 4, 1, 64, codegen::DType::kFP16, true, 1, 256, 256)};
  auto report = tuner.run(problems);
  ASSERT_TRUE(report.ok()) << report.status().message();
  auto rows = (*db)->measurements(db::MeasurementFilter{});
  ASSERT_TRUE(rows.ok());
  ASSERT_FALSE(rows->empty());
  int ok = 0, best = 0;
  for (const MeasurementRecord& r : *rows) {
    EXPECT_TRUE(r.problem.family == "cpu_decode" || r.problem.family == "cpu_prefill") << r.problem.family;
    ok += r.status == MeasureStatus::kOk;
    best += r.is_best;
  }
  EXPECT_GE(ok, 4);
  EXPECT_EQ(best, 2);
  auto envs = (*db)->environments();
  ASSERT_TRUE(envs.ok());
  ASSERT_EQ(envs->size(), 1u);
  EXPECT_EQ((*envs)[0].nvrtc_version.rfind("LLVM", 0), 0u);
}

}  // namespace
}  // namespace gqaforge::cpu
