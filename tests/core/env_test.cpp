// Environment settings: the GQAFORGE_ spelling, the deprecated GQF_ one, numbers read strictly.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/env.h"

namespace gqaforge {
namespace {

class EnvTest : public ::testing::Test {
 protected:
  void TearDown() override {
    unsetenv("GQAFORGE_ENVTEST_X");
    unsetenv("GQF_ENVTEST_X");
  }
};

TEST_F(EnvTest, UnsetIsNullopt) {
  EXPECT_FALSE(env_setting("ENVTEST_X").has_value());
  auto n = env_number("ENVTEST_X");
  ASSERT_TRUE(n.ok());
  EXPECT_FALSE(n->has_value());
}

TEST_F(EnvTest, CurrentSpellingWinsOverLegacy) {
  setenv("GQF_ENVTEST_X", "old", 1);
  setenv("GQAFORGE_ENVTEST_X", "new", 1);
  EXPECT_EQ(env_setting("ENVTEST_X"), "new");
}

TEST_F(EnvTest, LegacySpellingStillReadWithWarning) {
  setenv("GQF_ENVTEST_X", "2.5", 1);
  ::testing::internal::CaptureStderr();
  auto n = env_number("ENVTEST_X");
  std::string err = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(n.ok());
  EXPECT_DOUBLE_EQ(n->value(), 2.5);
  EXPECT_NE(err.find("GQF_ENVTEST_X is deprecated; set GQAFORGE_ENVTEST_X"), std::string::npos) << err;
}

TEST_F(EnvTest, EmptyValueIsUnset) {
  setenv("GQAFORGE_ENVTEST_X", "", 1);
  EXPECT_FALSE(env_setting("ENVTEST_X").has_value());
}

TEST_F(EnvTest, BadNumberNamesVariableAndValue) {
  for (const char* bad : {"abc", "1.5x", "inf", "1e999"}) {
    setenv("GQAFORGE_ENVTEST_X", bad, 1);
    auto n = env_number("ENVTEST_X");
    ASSERT_FALSE(n.ok()) << bad;
    EXPECT_EQ(n.status().message(), std::string("GQAFORGE_ENVTEST_X='") + bad + "' is not a number");
  }
}

}  // namespace
}  // namespace gqaforge
