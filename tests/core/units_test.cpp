// Number formatting with units (core/units.h) and display-width helpers (core/strings.h).
#include "core/units.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/strings.h"

namespace gqaforge {
namespace {

TEST(Units, SiCarriesTheQuantitysUnit) {
  EXPECT_EQ(format_flops(2.55e14), "255 TFLOP");
  EXPECT_EQ(format_flops(3.676e18), "3.68 EFLOP");
  EXPECT_EQ(format_flops(5.738e21), "5.74 ZFLOP");
  EXPECT_EQ(format_flops(3.676e24), "3.68 YFLOP");
  EXPECT_EQ(format_flops(3.676e27), "3.68e+27 FLOP");  // beyond the last prefix
  EXPECT_EQ(format_si(1.81e9), "1.81 G");
  EXPECT_EQ(format_si(999.6e6, "FLOP"), "1.00 GFLOP");  // rounding carries into the next prefix
  EXPECT_EQ(format_si(512, "B"), "512 B");
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_si(2.5, "B"), "2.50 B");
  EXPECT_EQ(format_bytes(4.75e9), "4.75 GB");
  EXPECT_EQ(format_bytes(32768), "32.8 kB");
  EXPECT_EQ(format_si(0.5, "FLOP"), "0.5 FLOP");
  EXPECT_EQ(format_si(std::numeric_limits<double>::quiet_NaN(), "B"), "n/a");
}

TEST(Units, CountsUseShortScaleWords) {
  EXPECT_EQ(format_scale(1.24e9, "params"), "1.24 B params");
  EXPECT_EQ(format_scale(1e11, "tokens"), "100 B tokens");
  EXPECT_EQ(format_scale(973146112, "params"), "973 M params");
  // Trillions spelled out: "T" is the context length in the cost formulas.
  EXPECT_EQ(format_scale(2.5e12, "tokens"), "2.50 trillion tokens");
  EXPECT_EQ(format_scale(2.55e14), "255 trillion");
  EXPECT_EQ(format_scale(3.2e15, "values"), "3.20e+15 values");
  EXPECT_EQ(format_scale(3000, "tok/s"), "3.00 K tok/s");
  EXPECT_EQ(format_scale(512, "tokens"), "512 tokens");
  EXPECT_EQ(format_scale(1.59e9), "1.59 B");
  EXPECT_EQ(format_scale(392.4), "392");
}

TEST(Units, ParsesWhatFormatSiWrites) {
  EXPECT_DOUBLE_EQ(*parse_si("4.75 GB", "B"), 4.75e9);
  EXPECT_DOUBLE_EQ(*parse_si("4.75GB", "B"), 4.75e9);
  EXPECT_DOUBLE_EQ(*parse_si("4.75G", "B"), 4.75e9);
  EXPECT_DOUBLE_EQ(*parse_si("4.75e9", "B"), 4.75e9);
  EXPECT_DOUBLE_EQ(*parse_si("512 b", "B"), 512);
  EXPECT_DOUBLE_EQ(*parse_si("3.68 ZFLOPs", "FLOP"), 3.68e21);
  EXPECT_DOUBLE_EQ(*parse_si("2EFLOP", "FLOP"), 2e18);
  EXPECT_DOUBLE_EQ(*parse_si("2E3", "FLOP"), 2000);
  EXPECT_DOUBLE_EQ(*parse_si("32 kB", "B"), 32000);
  EXPECT_DOUBLE_EQ(*parse_si("1500", ""), 1500);
  EXPECT_DOUBLE_EQ(*parse_si("-2", ""), -2);  // the sign is the caller's to refuse
  for (const char* bad : {"", "GB", "4 GBx", "4 XB", "four", "4 FLOP"}) {
    auto r = parse_si(bad, "B");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find(fmt::format("'{}'", bad)), std::string::npos) << r.status().message();
  }
}

TEST(Units, TimesPickTheirUnitByMagnitude) {
  EXPECT_EQ(format_time_us(3622878.41), "3.62 s");
  EXPECT_EQ(format_time_us(2087.6), "2.09 ms");
  EXPECT_EQ(format_time_us(12.34), "12.3 µs");
  EXPECT_EQ(format_time_us(999.7), "1.00 ms");
  EXPECT_EQ(format_time_us(0.25), "250 ns");
  EXPECT_EQ(format_seconds(1.5), "1.50 s");
  EXPECT_EQ(format_duration(0.35), "350 ms");
  EXPECT_EQ(format_duration(1.25), "1.2 s");
  EXPECT_EQ(format_duration(125), "2 min 5 s");
  EXPECT_EQ(format_duration(3 * 3600 + 120), "3 h 2 min");
}

TEST(Units, DecimalsCarryNoFloatingPointNoise) {
  EXPECT_EQ(format_decimal(1 - 0.9), "0.1");
  EXPECT_EQ(format_decimal(0.09999999999999998), "0.1");
  EXPECT_EQ(format_decimal(1.0 / 3), "0.3333");
  EXPECT_EQ(format_decimal(2.615), "2.615");
  EXPECT_EQ(format_decimal(0.9), "0.9");
  EXPECT_EQ(format_decimal(50304), "50304");
  EXPECT_EQ(format_decimal(2.0), "2");
  EXPECT_EQ(format_decimal(-0.5), "-0.5");
  EXPECT_EQ(format_decimal(0), "0");
  EXPECT_EQ(format_decimal(1.23456e-7), "1.235e-07");
}

TEST(Units, ContextsInBinaryThousands) {
  EXPECT_EQ(format_context(131072), "128K");
  EXPECT_EQ(format_context(8192), "8K");
  EXPECT_EQ(format_context(1048576), "1M");
  EXPECT_EQ(format_context(1000), "1000");
  EXPECT_EQ(format_context(1e9), "1.00 B");
  EXPECT_EQ(format_percent(0.508), "50.8%");
}

TEST(DisplayWidth, CountsColumnsNotBytes) {
  EXPECT_EQ(display_width("(32,8)≠(32,4)"), 13u);
  EXPECT_EQ(std::string("≠").size(), 3u);
  EXPECT_EQ(display_width("12.3 µs"), 7u);
  EXPECT_EQ(display_width("\x1b[1mbold\x1b[0m"), 4u);
  EXPECT_EQ(display_width("日本"), 4u);
  EXPECT_EQ(pad_left("a≠b", 5), "  a≠b");
  EXPECT_EQ(pad_right("µs", 4), "µs  ");
}

TEST(DisplayWidth, TruncatesWithoutSplittingACodePoint) {
  EXPECT_EQ(truncate_to_width("abcdef", 10), "abcdef");
  EXPECT_EQ(truncate_to_width("abcdef", 4), "abc…");
  EXPECT_EQ(truncate_to_width("ab≠≠≠≠", 4), "ab≠…");
  EXPECT_EQ(truncate_to_width("abcdef", 4, "."), "abc.");
  EXPECT_EQ(display_width(truncate_to_width("µµµµµµµ", 5)), 5u);
}

TEST(ParseCount, AcceptsWholeScientificNotation) {
  EXPECT_EQ(*parse_count("1e9"), 1000000000);
  EXPECT_EQ(*parse_count("2.5e3"), 2500);
  EXPECT_FALSE(parse_count("1.5e0").ok());
  EXPECT_FALSE(parse_count("1e30").ok());
  EXPECT_NE(parse_count("1.5e0").status().message().find("whole"), std::string::npos);
}

}  // namespace
}  // namespace gqaforge
