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
/// Parses a count with an optional binary suffix: "4096", "4k", "128K", "1m" (k = 1024).
Result<int64_t> parse_count(std::string_view text);
/// Parses a comma-separated list of counts ("1,16" or "4k,32k").
Result<std::vector<int64_t>> parse_count_list(std::string_view text);
/// "4096" -> "4k", "131072" -> "128k", "1000" -> "1000".
std::string format_count(int64_t value);

}  // namespace gqaforge
