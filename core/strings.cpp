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
  int64_t multiplier = 1;
  if (t.back() == 'k') multiplier = 1024;
  if (t.back() == 'm') multiplier = 1024 * 1024;
  std::string digits = multiplier == 1 ? t : t.substr(0, t.size() - 1);
  auto value = parse_int(digits);
  if (!value.ok() || *value < 0) {
    return invalid_argument("'{}' is not a count (expected e.g. 4096, 4k, 128k)", trim(text));
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

}  // namespace gqaforge
