// A short real tune on the GPU: one decode and one prefill problem through the worker process,
// into a temporary SQLite file; checks the rows, their statuses and the best marks. Skipped
// (with the reason) where there is no GPU.
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "db/database.h"
#include "runtime/cuda_driver.h"
#include "tests/autotune/test_util.h"

namespace gqaforge::autotune {
namespace {

TEST(GpuTune, ShortDecodeAndPrefillTuneRecordsRowsAndBest) {
  if (!runtime::gpu_available()) GTEST_SKIP() << "no CUDA device (driver not loadable or no GPU present)";
  testing::ScratchDir dir;
  const std::string db = dir.file("gpu.sqlite");
  const std::string binary = GQAFORGE_BINARY_DIR "/tools/gqaforge";
  for (const char* problem : {"--phase decode --heads 8:1 --head-dim 128 --batch 1 --kv-len 16k",
                              "--phase prefill --heads 16:2 --head-dim 128 --batch 1 --kv-len 2k"}) {
    const std::string cmd = fmt::format(
        "GQAFORGE_CACHE_DIR={} {} tune {} --strategy guided --budget 24 --quiet "
        "--db {} > {} 2>&1",
        dir.file("cache"), binary, problem, db, dir.file("log"));
    const int status = std::system(cmd.c_str());
    std::ifstream log(dir.file("log"));
    std::stringstream text;
    text << log.rdbuf();
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << cmd << "\n" << text.str();
    std::printf("%s\n", text.str().c_str());
  }
  auto opened = db::Database::open(db, db::OpenMode::kReadOnly);
  ASSERT_TRUE(opened.ok()) << opened.status().to_string();
  auto rows = (*opened)->measurements(db::MeasurementFilter{});
  ASSERT_TRUE(rows.ok());
  std::map<std::string, int> ok_rows, best_rows;
  for (const MeasurementRecord& m : *rows) {
    EXPECT_FALSE(m.kernel_key.empty());
    EXPECT_FALSE(m.env_key.empty());
    if (m.status == MeasureStatus::kOk) {
      ++ok_rows[m.problem.family];
      EXPECT_GT(m.median_us, 0);
      EXPECT_LE(m.max_error, m.error_bound) << m.config;
      if (m.problem.family == "decode") {
        EXPECT_GT(m.tbps, 0);
      } else {
        EXPECT_GT(m.tflops, 0);
      }
    } else {
      EXPECT_FALSE(m.message.empty()) << measure_status_name(m.status);
    }
    if (m.is_best) {
      ++best_rows[m.problem.family];
      EXPECT_EQ(m.status, MeasureStatus::kOk);
    }
  }
  EXPECT_GT(ok_rows["decode"], 0);
  EXPECT_GT(ok_rows["prefill"], 0);
  EXPECT_EQ(best_rows["decode"], 1);
  EXPECT_EQ(best_rows["prefill"], 1);
  auto envs = (*opened)->environments();
  ASSERT_TRUE(envs.ok());
  ASSERT_EQ(envs->size(), 1u);
  EXPECT_GT(envs->front().sm_count, 0);
}

}  // namespace
}  // namespace gqaforge::autotune
