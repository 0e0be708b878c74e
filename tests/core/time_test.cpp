// core/time.h: the timestamp form rows and runs store.
#include "core/time.h"

#include <gtest/gtest.h>

#include <regex>

namespace gqaforge {
namespace {

TEST(Time, UtcTimestampIsIso8601ToTheSecond) {
  EXPECT_TRUE(std::regex_match(utc_timestamp(), std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)")))
      << utc_timestamp();
}

}  // namespace
}  // namespace gqaforge
