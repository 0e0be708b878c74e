// SVG plots and the HTML report: structure, axes, legends, escaping.
#include "costmodel/report_html.h"

#include <gtest/gtest.h>

#include "costmodel/svg_plot.h"
#include "tests/costmodel/test_util.h"

#include <string>
#include <vector>

namespace gqaforge::costmodel {
namespace {

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

TEST(SvgPlot, NiceTicks) {
  EXPECT_EQ(nice_ticks(0, 10, false), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  auto log_ticks = nice_ticks(1e3, 1e6, true);
  EXPECT_EQ(log_ticks.front(), 1e3);
  EXPECT_EQ(log_ticks.back(), 1e6);
  auto narrow = nice_ticks(2.3, 2.9, true);  // inside one decade: linear fallback
  EXPECT_GE(narrow.size(), 3u);
}

TEST(SvgPlot, LogAxesCarryOneLabelPerDecadeWithUnits) {
  EXPECT_EQ(nice_ticks(1e3, 1e6, true), (std::vector<double>{1e3, 1e4, 1e5, 1e6}));
  EXPECT_EQ(nice_ticks(0.9e9, 2.1e11, true), (std::vector<double>{1e9, 1e10, 1e11}));
  EXPECT_EQ(tick_label(1e10, "B"), "10 GB");
  EXPECT_EQ(tick_label(1e14, "FLOP"), "100 TFLOP");
  EXPECT_EQ(tick_label(2.45), "2.45");
  EXPECT_EQ(tick_label(1e6), "1M");
  PlotSpec spec;
  spec.title = "memory";
  spec.log_x = spec.log_y = true;
  spec.y_unit = "B";
  // y from 2.3 GB to 80 GB: one power of ten inside, so the axis widens to 100 GB and is
  // labelled at 10 GB and 100 GB only (no 20 GB, 30 GB, 50 GB labels).
  spec.series.push_back({"s", {{1024, 2.3e9}, {1048576, 8e10}}, {}, "", true, false, false});
  std::string svg = render_svg(spec);
  EXPECT_NE(svg.find(">10 GB</text>"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">100 GB</text>"), std::string::npos) << svg;
  for (const char* extra : {">20 GB<", ">30 GB<", ">50 GB<", ">1 GB<"})
    EXPECT_EQ(svg.find(extra), std::string::npos) << extra;
  // x from 1024 to 1048576 stays 1k .. 1M (no extra decade to 10M).
  EXPECT_NE(svg.find(">1M</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">10M</text>"), std::string::npos);
  EXPECT_NE(svg.find("width: 100%"), std::string::npos);  // scales to the page
}

TEST(SvgPlot, RendersAxesLegendAndEscapedText) {
  PlotSpec spec;
  spec.title = "Cost <vs> T";
  spec.x_label = "T";
  spec.y_label = "bytes";
  spec.log_x = spec.log_y = true;
  spec.series.push_back({"H=(8,1)", {{1024, 1e9}, {131072, 2e9}}, {"a", "b&c"}, "", true, true, false});
  spec.series.push_back({"drop", {{-1, 5}, {0, 3}}, {}, "#000", true, true, true});  // dropped on log axes
  std::string svg = render_svg(spec);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("Cost &lt;vs&gt; T"), std::string::npos);
  EXPECT_NE(svg.find("(log scale)"), std::string::npos);
  EXPECT_NE(svg.find(">H=(8,1)</text>"), std::string::npos);
  EXPECT_NE(svg.find("b&amp;c"), std::string::npos);
  EXPECT_EQ(count(svg, "<circle"), 2u + 2u);  // two data points + two legend markers
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

TEST(Report, ContainsTablesAndThreePlotSections) {
  auto report = testing::headline_report_html();
  ASSERT_TRUE(report.ok()) << report.status().message();
  const std::string& html = *report;
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(html, "<svg"), 4u);  // memory and FLOPs vs T, loss vs cost, Pareto
  EXPECT_NE(html.find("Pareto front"), std::string::npos);
  EXPECT_NE(html.find("Llama-3"), std::string::npos);
  EXPECT_EQ(count(html, "<tr class=\"best\">"), 1u);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, static
  EXPECT_NE(html.find("</html>"), std::string::npos);
  // Units and rounded numbers: the title names T as 128K, Z's weights print without float
  // noise, Z's terms are stated, table cells do not wrap.
  EXPECT_NE(html.find("<title>gqaforge search: L* = 2.615 at T = 128K</title>"), std::string::npos);
  EXPECT_EQ(html.find("0.0999999"), std::string::npos);
  EXPECT_NE(html.find("0.9 M^0.5 + 0.1 C^0.3333, a plain number with M in bytes"), std::string::npos);
  EXPECT_NE(html.find("white-space: nowrap"), std::string::npos);
  EXPECT_NE(html.find("GFLOP</td>"), std::string::npos);
  EXPECT_NE(html.find(" B</td>"), std::string::npos);  // N as "1.59 B" parameters
}

}  // namespace
}  // namespace gqaforge::costmodel
