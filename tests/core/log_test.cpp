// The logging wrapper: one line per message on stderr, prefixed by level, filtered by the
// threshold (GQAFORGE_LOG or set_log_threshold).
#include "core/log.h"

#include <gtest/gtest.h>

namespace gqaforge {
namespace {

class Log : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = log_threshold(); }
  void TearDown() override { set_log_threshold(saved_); }
  LogLevel saved_ = LogLevel::kInfo;
};

TEST_F(Log, LinesCarryTheirLevelAndInfoIsBare) {
  set_log_threshold(LogLevel::kDebug);
  testing::internal::CaptureStderr();
  log_debug("d {}", 1);
  log_info("i {}", 2);
  log_warn("w {}", 3);
  log_error("e {}", 4);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "debug: d 1\ni 2\nwarning: w 3\nerror: e 4\n");
}

TEST_F(Log, TheThresholdFiltersAllButErrors) {
  set_log_threshold(LogLevel::kError);
  EXPECT_EQ(log_threshold(), LogLevel::kError);
  testing::internal::CaptureStderr();
  log_debug("hidden");
  log_info("hidden");
  log_warn("hidden");
  log_error("shown");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "error: shown\n");
  set_log_threshold(LogLevel::kWarn);
  testing::internal::CaptureStderr();
  log_info("hidden");
  log_warn("{} braces {{}} are fmt's", "shown,");
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "warning: shown, braces {} are fmt's\n");
}

}  // namespace
}  // namespace gqaforge
