// String utilities; parsing is strict so that a typo in a flag is an error, not a zero.
#include "core/strings.h"

#include <cctype>
#include <charconv>
#include <limits>

namespace gqaforge {

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t pos = text.find(sep, start);
    if (pos == std::string_view::npos) {
      parts.emplace_back(text.substr(start));
      return parts;
    }
    parts.emplace_back(text.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string trim(std::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return std::string(text.substr(b, e - b));
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

Result<int64_t> parse_int(std::string_view text) {
  std::string t = trim(text);
  if (t.empty()) return invalid_argument("expected an integer, got an empty string");
  int64_t value = 0;
  const char* begin = t.data();
  if (*begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, t.data() + t.size(), value);
  if (ec == std::errc::result_out_of_range) return invalid_argument("integer '{}' is out of range", t);
  if (ec != std::errc() || ptr != t.data() + t.size()) {
    return invalid_argument("'{}' is not an integer", t);
  }
  return value;
}

Result<double> parse_double(std::string_view text) {
  std::string t = trim(text);
  if (t.empty()) return invalid_argument("expected a number, got an empty string");
  double value = 0;
  const char* begin = t.data();
  if (*begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, t.data() + t.size(), value);
  if (ec != std::errc() || ptr != t.data() + t.size()) {
    return invalid_argument("'{}' is not a number", t);
  }
  return value;
}

Result<int64_t> parse_count(std::string_view text) {
  std::string t = to_lower(trim(text));
  if (t.empty()) return invalid_argument("expected a count such as 4096 or 4k, got an empty string");
  // Scientific notation ("1e9", "2.5e3"): accepted when it names a whole count.
  if (t.find('e') != std::string::npos && t.find_first_of("0123456789") == 0) {
    auto d = parse_double(t);
    if (d.ok()) {
      if (!(*d >= 0) || *d >= 9.2e18) return invalid_argument("count '{}' is out of range", trim(text));
      if (*d != static_cast<double>(static_cast<int64_t>(*d))) {
        return invalid_argument("'{}' is not a whole count (expected e.g. 4096, 4k, 1e9)", trim(text));
      }
      return static_cast<int64_t>(*d);
    }
  }
  int64_t multiplier = 1;
  if (t.back() == 'k') multiplier = 1024;
  if (t.back() == 'm') multiplier = 1024 * 1024;
  std::string digits = multiplier == 1 ? t : t.substr(0, t.size() - 1);
  auto value = parse_int(digits);
  if (!value.ok() || *value < 0) {
    return invalid_argument("'{}' is not a count (expected e.g. 4096, 4k, 128k, 1e6)", trim(text));
  }
  if (*value > std::numeric_limits<int64_t>::max() / multiplier) {
    return invalid_argument("count '{}' is out of range", trim(text));
  }
  return *value * multiplier;
}

Result<std::vector<int64_t>> parse_count_list(std::string_view text) {
  std::vector<int64_t> values;
  for (const std::string& part : split(text, ',')) {
    GQF_ASSIGN_OR_RETURN(int64_t v, parse_count(part));
    values.push_back(v);
  }
  return values;
}

std::string format_count(int64_t value) {
  if (value >= 1024 * 1024 && value % (1024 * 1024) == 0) return fmt::format("{}m", value >> 20);
  if (value >= 1024 && value % 1024 == 0) return fmt::format("{}k", value >> 10);
  return fmt::format("{}", value);
}

namespace {

// Decodes one UTF-8 code point at text[i] (advancing i); invalid bytes decode as themselves.
uint32_t next_code_point(std::string_view text, size_t& i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  size_t len = b0 < 0x80 ? 1 : (b0 >> 5) == 0x6 ? 2 : (b0 >> 4) == 0xE ? 3 : (b0 >> 3) == 0x1E ? 4 : 1;
  if (i + len > text.size()) len = 1;
  uint32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1Fu) : len == 3 ? (b0 & 0x0Fu) : (b0 & 0x07u);
  for (size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b >> 6) != 0x2) {  // not a continuation byte: take the lead byte alone
      len = 1;
      cp = b0;
      break;
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  i += len;
  return cp;
}

int code_point_width(uint32_t cp) {
  if (cp == 0 || cp < 0x20 || cp == 0x7F) return 0;
  if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0xFE00 && cp <= 0xFE0F)) return 0;
  if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
      (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) || (cp >= 0x1F900 && cp <= 0x1F9FF) ||
      (cp >= 0x20000 && cp <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

// Length of an ANSI escape sequence (CSI "ESC [ ... final") starting at text[i], else 0.
size_t escape_length(std::string_view text, size_t i) {
  if (text[i] != '\x1b') return 0;
  if (i + 1 >= text.size() || text[i + 1] != '[') return 1;
  size_t j = i + 2;
  while (j < text.size() && !(text[j] >= 0x40 && text[j] <= 0x7E)) ++j;
  return j < text.size() ? j - i + 1 : text.size() - i;
}

}  // namespace

size_t display_width(std::string_view utf8) {
  size_t width = 0;
  for (size_t i = 0; i < utf8.size();) {
    if (size_t esc = escape_length(utf8, i); esc > 0) {
      i += esc;
      continue;
    }
    width += static_cast<size_t>(code_point_width(next_code_point(utf8, i)));
  }
  return width;
}

std::string truncate_to_width(std::string_view utf8, size_t width, std::string_view ellipsis) {
  if (display_width(utf8) <= width) return std::string(utf8);
  const size_t ell = display_width(ellipsis);
  if (width < ell) return "";
  const size_t budget = width - ell;
  size_t used = 0, i = 0, cut = 0;
  while (i < utf8.size()) {
    size_t start = i;
    if (size_t esc = escape_length(utf8, i); esc > 0) {
      i += esc;
      cut = i;
      continue;
    }
    const size_t w = static_cast<size_t>(code_point_width(next_code_point(utf8, i)));
    if (used + w > budget) {
      i = start;
      break;
    }
    used += w;
    cut = i;
  }
  return std::string(utf8.substr(0, cut)) + std::string(ellipsis);
}

std::string pad_right(std::string_view utf8, size_t width) {
  const size_t w = display_width(utf8);
  return std::string(utf8) + std::string(w < width ? width - w : 0, ' ');
}

std::string pad_left(std::string_view utf8, size_t width) {
  const size_t w = display_width(utf8);
  return std::string(w < width ? width - w : 0, ' ') + std::string(utf8);
}

}  // namespace gqaforge
