// CLI11 validators for the value syntaxes of the gqaforge CLI. Each one that accepts a value
// rewrites it in the plain form CLI11 converts to the bound variable ("4k" becomes "4096", "10m"
// becomes "600"); each message names the value, and CLI11 puts the flag in front of it
// ("--kv-len: '4q' is not a count ...").
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "core/status.h"

namespace gqaforge::tools {

/// A whole decimal integer in [lo, hi] (CLI11's own conversion would also read "0x10" and "010").
CLI::Validator integer_in(int64_t lo, int64_t hi = std::numeric_limits<int64_t>::max());
/// A positive count, also as "4k", "128k" or "1e6" (core/strings.h parse_count).
CLI::Validator positive_count();
/// A comma-separated list of positive counts ("1,16", "4k,32k").
CLI::Validator positive_count_list();
/// A number in [lo, hi].
CLI::Validator number_in(double lo, double hi);
/// A number above zero.
CLI::Validator positive_number();
/// A positive duration: "90s", "10m", "1.5h" or plain seconds; becomes seconds.
CLI::Validator duration();
/// One of `names` (CLI11's IsMember; with `ignore_case`, "Power" is "power").
CLI::Validator one_of(const std::vector<std::string>& names, bool ignore_case = false);
/// The value is accepted when `check` says ok; otherwise `check`'s message is the error.
CLI::Validator checked_by(std::function<Status(const std::string&)> check);
/// Each comma-separated item passes `check` (the list as a whole is left unchanged).
CLI::Validator each_item(std::function<Status(const std::string&)> check);

}  // namespace gqaforge::tools
