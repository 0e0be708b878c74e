// TextTable: the one table style of the CLI. Aligned text columns (two spaces apart, widths
// counted in display columns, so "≠" or "µs" do not shift a column), a header line, no rules,
// no trailing spaces; at most kDefaultTableWidth columns unless the caller asks for all
// (`--wide`): droppable columns go first, highest drop rank first, and a last line names them.
//
//   TextTable t;
//   t.add_column("problem", TextTable::kLeft);
//   t.add_column("best", TextTable::kRight);
//   t.add_column("config", TextTable::kLeft, /*drop_rank=*/1);
//   t.add_row({"decode 8:1 d128", "12.3 µs", "block_n=64,..."});
//   std::fputs(t.render(wide ? 0 : kDefaultTableWidth).c_str(), stdout);
//
// render_markdown() gives the same table as a GitHub Markdown table (for RESULTS-style docs).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace gqaforge {

inline constexpr size_t kDefaultTableWidth = 120;

class TextTable {
 public:
  enum Align { kLeft, kRight };

  /// `drop_rank` 0: always shown; > 0: may be hidden to fit the width, higher ranks first.
  void add_column(std::string header, Align align = kRight, int drop_rank = 0);
  /// One row; missing trailing cells are blank, extra cells are an error (asserts).
  void add_row(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }
  size_t columns() const { return columns_.size(); }

  /// The table as aligned text ending in '\n'. max_width 0 = every column, whatever the width.
  /// When columns were hidden, a last line says which and that --wide shows them.
  std::string render(size_t max_width = kDefaultTableWidth) const;
  /// The columns that render(max_width) hides.
  std::vector<std::string> hidden_columns(size_t max_width) const;
  /// A GitHub Markdown table of every column ('|' in cells escaped).
  std::string render_markdown() const;

 private:
  struct Column {
    std::string header;
    Align align;
    int drop_rank;
  };
  std::vector<bool> visible(size_t max_width) const;
  size_t column_width(size_t c) const;
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace gqaforge
