// Tests for strict parsing of counts and numbers.
#include "core/strings.h"

#include <gtest/gtest.h>

namespace gqaforge {
namespace {

TEST(ParseCount, AcceptsSuffixes) {
  EXPECT_EQ(*parse_count("4096"), 4096);
  EXPECT_EQ(*parse_count("4k"), 4096);
  EXPECT_EQ(*parse_count("128K"), 131072);
  EXPECT_EQ(*parse_count("1m"), 1048576);
  EXPECT_EQ(*parse_count(" 16 "), 16);
}

TEST(ParseCount, RejectsJunkAndNamesIt) {
  for (const char* bad : {"", "k", "4kk", "-3", "4.5k", "abc", "99999999999999999999"}) {
    Result<int64_t> r = parse_count(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  EXPECT_NE(parse_count("4q").status().message().find("'4q'"), std::string::npos);
}

TEST(ParseCountList, ParsesAndFailsAsAWhole) {
  auto v = parse_count_list("1,16,4k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, (std::vector<int64_t>{1, 16, 4096}));
  EXPECT_FALSE(parse_count_list("1,,2").ok());
}

TEST(ParseNumbers, Strict) {
  EXPECT_EQ(*parse_int("-12"), -12);
  EXPECT_FALSE(parse_int("12x").ok());
  EXPECT_DOUBLE_EQ(*parse_double("2.615"), 2.615);
  EXPECT_FALSE(parse_double("2,6").ok());
  EXPECT_FALSE(parse_double("").ok());
}

TEST(FormatCount, RoundTrips) {
  EXPECT_EQ(format_count(131072), "128k");
  EXPECT_EQ(format_count(1000), "1000");
  EXPECT_EQ(format_count(2 * 1048576), "2m");
}

TEST(Split, KeepsEmptyParts) {
  EXPECT_EQ(split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(trim("  x y \n"), "x y");
}

}  // namespace
}  // namespace gqaforge
