// Small string utilities: splitting, trimming, and strict number parsing for flags and files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace gqaforge {

std::vector<std::string> split(std::string_view text, char sep);
std::string trim(std::string_view text);
std::string to_lower(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);

/// Parses a whole decimal integer; rejects signs where not allowed, trailing junk, overflow.
Result<int64_t> parse_int(std::string_view text);
/// Parses a whole floating-point number (locale independent).
Result<double> parse_double(std::string_view text);
/// Parses a count with an optional binary suffix: "4096", "4k", "128K", "1m" (k = 1024), or a
/// whole number in scientific notation: "1e9", "2.5e3".
Result<int64_t> parse_count(std::string_view text);
/// Parses a comma-separated list of counts ("1,16" or "4k,32k").
Result<std::vector<int64_t>> parse_count_list(std::string_view text);
/// "4096" -> "4k", "131072" -> "128k", "1000" -> "1000".
std::string format_count(int64_t value);

/// Columns a UTF-8 string occupies on a terminal: one per code point, two for East Asian wide
/// and emoji code points, none for combining marks and ANSI escape sequences ("≠" is 1, not 3).
size_t display_width(std::string_view utf8);
/// The longest prefix of `utf8` that fits in `width` columns, never splitting a code point; when
/// something was cut, its last column is `ellipsis` (a one-column string, e.g. "…" or ".").
std::string truncate_to_width(std::string_view utf8, size_t width, std::string_view ellipsis = "…");
/// `utf8` padded with spaces to `width` columns (left-aligned: spaces after; right: before).
std::string pad_right(std::string_view utf8, size_t width);
std::string pad_left(std::string_view utf8, size_t width);

}  // namespace gqaforge
