// SVG plots and the HTML report: structure, axes, legends, escaping.
#include "costmodel/report_html.h"

#include <gtest/gtest.h>

#include "costmodel/svg_plot.h"

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
  auto loss = LossModel::bundled_default();
  auto presets = Presets::bundled();
  ASSERT_TRUE(loss.ok() && presets.ok());
  SearchSettings s;
  s.target_loss = 2.615;
  s.context = 131072;
  auto r = run_search(*loss, presets->aspect_table(), s, nullptr);
  ASSERT_TRUE(r.ok());
  std::string html = render_report_html(*r, *loss, presets->aspect_table());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(html, "<svg"), 4u);  // memory and FLOPs vs T, loss vs cost, Pareto
  EXPECT_NE(html.find("Pareto front"), std::string::npos);
  EXPECT_NE(html.find("Llama-3"), std::string::npos);
  EXPECT_EQ(count(html, "<tr class=\"best\">"), 1u);
  EXPECT_EQ(html.find("<script"), std::string::npos);  // self-contained, static
  EXPECT_NE(html.find("</html>"), std::string::npos);
}

}  // namespace
}  // namespace gqaforge::costmodel
