// TextTable: display-width alignment, the 120-column default, Markdown.
#include "core/table.h"

#include <gtest/gtest.h>

#include "core/strings.h"

namespace gqaforge {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out = split(text, '\n');
  if (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

TEST(TextTable, AlignsByDisplayWidth) {
  TextTable t;
  t.add_column("L*", TextTable::kRight);
  t.add_column("8K", TextTable::kRight);
  t.add_column("16K", TextTable::kRight);
  t.add_row({"2.70", "(32,8)≠(32,4)", "(16,1)"});
  t.add_row({"2.60", "(32,8)", "(32,4)≠(16,4)"});
  auto lines = lines_of(t.render());
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& l : lines) EXPECT_EQ(display_width(l), display_width(lines[0])) << l;
  EXPECT_EQ(lines[1], "2.70  (32,8)≠(32,4)         (16,1)");
}

TEST(TextTable, DropsDroppableColumnsToFitAndSaysSo) {
  TextTable t;
  t.add_column("name", TextTable::kLeft);
  t.add_column("detail", TextTable::kLeft, 1);
  t.add_column("more", TextTable::kLeft, 2);
  t.add_column("value", TextTable::kRight);
  t.add_row({"x", std::string(60, 'd'), std::string(60, 'm'), "1"});
  std::string narrow = t.render(100);
  for (const std::string& l : lines_of(narrow)) EXPECT_LE(display_width(l), 100u) << l;
  EXPECT_EQ(t.hidden_columns(100), std::vector<std::string>{"more"});
  EXPECT_NE(narrow.find("--wide"), std::string::npos);
  std::string wide = t.render(0);
  EXPECT_NE(wide.find(std::string(60, 'm')), std::string::npos);
  EXPECT_EQ(wide.find("--wide"), std::string::npos);
  EXPECT_EQ(t.hidden_columns(40), (std::vector<std::string>{"detail", "more"}));
}

TEST(TextTable, NoTrailingSpacesAndBlankCells) {
  TextTable t;
  t.add_column("a", TextTable::kLeft);
  t.add_column("note", TextTable::kLeft);
  t.add_row({"long value"});
  for (const std::string& l : lines_of(t.render())) EXPECT_NE(l.back(), ' ') << l;
}

TEST(TextTable, Markdown) {
  TextTable t;
  t.add_column("problem", TextTable::kLeft);
  t.add_column("us", TextTable::kRight);
  t.add_row({"a|b", "1.5"});
  EXPECT_EQ(t.render_markdown(), "| problem | us |\n|---|---:|\n| a\\|b | 1.5 |\n");
}

}  // namespace
}  // namespace gqaforge
