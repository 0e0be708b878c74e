// TextTable rendering.
#include "core/table.h"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

#include "core/strings.h"

namespace gqaforge {

void TextTable::add_column(std::string header, Align align, int drop_rank) {
  columns_.push_back({std::move(header), align, drop_rank});
}

void TextTable::add_row(std::vector<std::string> cells) {
  assert(cells.size() <= columns_.size());
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

size_t TextTable::column_width(size_t c) const {
  size_t w = display_width(columns_[c].header);
  for (const auto& row : rows_) w = std::max(w, display_width(row[c]));
  return w;
}

std::vector<bool> TextTable::visible(size_t max_width) const {
  std::vector<bool> shown(columns_.size(), true);
  if (max_width == 0) return shown;
  auto total = [&]() {
    size_t w = 0, n = 0;
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (!shown[c]) continue;
      w += column_width(c);
      ++n;
    }
    return w + (n > 0 ? 2 * (n - 1) : 0);
  };
  while (total() > max_width) {
    // The visible column with the highest drop rank (the rightmost among equals) goes first.
    size_t victim = columns_.size();
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (shown[c] && columns_[c].drop_rank > 0 &&
          (victim == columns_.size() || columns_[c].drop_rank >= columns_[victim].drop_rank)) {
        victim = c;
      }
    }
    if (victim == columns_.size()) break;  // nothing left to drop
    shown[victim] = false;
  }
  return shown;
}

std::vector<std::string> TextTable::hidden_columns(size_t max_width) const {
  std::vector<std::string> hidden;
  std::vector<bool> shown = visible(max_width);
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (!shown[c]) hidden.push_back(columns_[c].header);
  }
  return hidden;
}

std::string TextTable::render(size_t max_width) const {
  const std::vector<bool> shown = visible(max_width);
  std::vector<size_t> widths(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) widths[c] = column_width(c);
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    bool first = true;
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (!shown[c]) continue;
      if (!first) out += "  ";
      first = false;
      out += columns_[c].align == kLeft ? pad_right(cells[c], widths[c]) : pad_left(cells[c], widths[c]);
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::vector<std::string> header;
  for (const Column& c : columns_) header.push_back(c.header);
  std::string out = line(header);
  for (const auto& row : rows_) out += line(row);
  std::vector<std::string> hidden = hidden_columns(max_width);
  if (!hidden.empty()) {
    std::string names;
    for (const std::string& h : hidden) {
      if (!names.empty()) names += ", ";
      names += h;
    }
    out += fmt::format("(hidden to fit {} columns: {}; --wide shows them)\n", max_width, names);
  }
  return out;
}

std::string TextTable::render_markdown() const {
  auto cell = [](const std::string& text) {
    std::string out;
    for (char ch : text) {
      if (ch == '|') out += '\\';
      out += ch;
    }
    return out;
  };
  std::string out = "|";
  for (const Column& c : columns_) out += fmt::format(" {} |", cell(c.header));
  out += "\n|";
  for (const Column& c : columns_) out += c.align == kLeft ? "---|" : "---:|";
  out += "\n";
  for (const auto& row : rows_) {
    out += "|";
    for (const std::string& v : row) out += fmt::format(" {} |", cell(v));
    out += "\n";
  }
  return out;
}

}  // namespace gqaforge
