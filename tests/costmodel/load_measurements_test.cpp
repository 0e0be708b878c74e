// Loading measurements for the cost model: every environment of the GPU model with the most
// rows is used (other GPU models are named in the notes, never mixed in), an explicit key
// selects one environment, and a problem with a re-measured best row contributes that row alone.
#include "costmodel/load_measurements.h"

#include <fmt/format.h>

#include <gtest/gtest.h>

namespace gqaforge::costmodel {
namespace {

std::string env_line(const std::string& key, const std::string& gpu, int codegen) {
  return fmt::format("{}\t{}\tGPU-{}\t132\t9\t0\t1980\t3201\t150000000000\t13000\t13.0\t{}\tabc\tRelease\thost\n", key,
                     gpu, key, codegen);
}

// A decode row: kernel `kernel`, median `us`, best mark.
std::string row(const std::string& env, int64_t kv_len, const std::string& kernel, double us, bool best) {
  return fmt::format(
      "{}\tdecode\t8\t1\t128\tbf16\t1\t1\t1\t{}\t0\t0\t0\t{}\tblock_n=64\tok\t\t{}\t{}\t0\t7\t0\t0\t0\t0\t0\t0\t0\t0\t{"
      "}\t"
      "2026-01-01T00:00:00Z\t\n",
      env, kv_len, kernel, us, us, best ? 1 : 0);
}

std::string export_text() {
  std::string t = "# gqaforge-db-export v1\n";
  t += "@environments\tkey\tgpu_name\tgpu_uuid\tsm_count\tcc_major\tcc_minor\tsm_clock_mhz\tmem_clock_mhz\tmemory_"
       "bytes\t"
       "driver_version\tnvrtc_version\tcodegen_version\tgqaforge_commit\tbuild_type\thost\n";
  t += env_line("aaaa000000000001", "NVIDIA H200", 2);
  t += env_line("aaaa000000000002", "NVIDIA H200", 3);
  t += env_line("bbbb000000000001", "NVIDIA A100", 3);
  t += "@tune_runs\tuid\tenv_key\tcommand_line\tstrategy\tstarted_at\tfinished_at\n";
  t += "@measurements\tenv_key\tfamily\tn_q_heads\tn_kv_heads\thead_dim\tdtype\tcausal\tbatch\tq_len\tkv_len\tgemm_m\t"
       "gemm_n\tgemm_k\tkernel_key\tconfig\tstatus\tmessage\tmedian_us\tmin_us\tstddev_us\trepetitions\tmax_error\t"
       "error_bound\ttflops\ttbps\tcompile_ms\tregisters\tshared_bytes\tspill_bytes\tis_best\tmeasured_at\trun_uid\n";
  // H200, codegen 2: kv 4K tuned (best marked) with a briefly timed try that looks faster.
  t += row("aaaa000000000001", 4096, "k1", 10.0, true);
  t += row("aaaa000000000001", 4096, "k2", 9.0, false);
  // H200, codegen 3: kv 32K.
  t += row("aaaa000000000002", 32768, "k1", 30.0, true);
  // A100: more rows than either H200 environment alone, fewer than both.
  t += row("bbbb000000000001", 4096, "k1", 20.0, true);
  t += row("bbbb000000000001", 8192, "k1", 25.0, true);
  return t;
}

TEST(LoadMeasurements, UsesEveryEnvironmentOfTheLargestGpu) {
  auto loaded = parse_measurement_export(export_text(), "test.tsv");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->gpu, "NVIDIA H200 (132 SMs, cc 9.0)");
  EXPECT_EQ(loaded->env_keys, (std::vector<std::string>{"aaaa000000000001", "aaaa000000000002"}));
  // The best row of the 4K problem only (not the briefly timed try), plus the 32K row.
  ASSERT_EQ(loaded->rows.size(), 2u);
  for (const MeasurementRecord& r : loaded->rows) {
    EXPECT_TRUE(r.is_best);
    EXPECT_NE(r.env_key, "bbbb000000000001");
  }
  ASSERT_EQ(loaded->notes.size(), 1u);
  EXPECT_NE(loaded->notes[0].find("ignoring 2 rows measured on NVIDIA A100"), std::string::npos) << loaded->notes[0];
  EXPECT_DOUBLE_EQ(loaded->gpu_memory_bytes, 150e9);
}

TEST(LoadMeasurements, AnExplicitKeySelectsOneEnvironment) {
  auto loaded = parse_measurement_export(export_text(), "test.tsv", "bbbb000000000001");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->rows.size(), 2u);
  EXPECT_EQ(loaded->gpu, "NVIDIA A100 (132 SMs, cc 9.0)");
  auto missing = parse_measurement_export(export_text(), "test.tsv", "cccc000000000001");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'cccc000000000001'"), std::string::npos);
}

TEST(LoadMeasurements, TheBundledDataIsOneH200) {
  auto loaded = bundled_measurements();
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_NE(loaded->gpu.find("H200"), std::string::npos);
  EXPECT_GT(loaded->rows.size(), 100u);
  EXPECT_TRUE(loaded->notes.empty());
}

}  // namespace
}  // namespace gqaforge::costmodel
