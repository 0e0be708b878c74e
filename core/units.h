// Human-readable numbers with their units, for every table, report and progress line:
//   format_si(2.55e14, "FLOP")    "255 TFLOP"     SI prefixes (k M G T P E Z) before the unit
//   format_bytes(4.75e9)          "4.75 GB"       decimal bytes
//   format_scale(1.24e9, "params")"1.24 B params" short-scale words for counts (K M B trillion)
//   format_time_us(3622878.41)    "3.62 s"        ns / µs / ms / s picked by magnitude
//   format_duration(125)          "2 min 5 s"     elapsed wall time
//   format_decimal(1 - 0.9)       "0.1"           at most N significant digits, no float noise
//   format_context(131072)        "128K"          a token count of powers of two
//   format_percent(0.508)         "50.8%"
//   parse_si("4.75 GB", "B")      4.75e9          the inverse of format_si
// Three significant digits unless told otherwise; non-finite values print as "n/a".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"

namespace gqaforge {

/// value with an SI prefix (k M G T P E Z Y) and `unit`: (2.55e14, "FLOP") -> "255 TFLOP",
/// (3.68e21, "FLOP") -> "3.68 ZFLOP", (1.81e9) -> "1.81 G". Values below 1000 carry no prefix
/// ("512 B", "0.5 FLOP"); values beyond 999.5 Y are scientific ("3.68e+27 FLOP").
std::string format_si(double value, std::string_view unit = "");
/// Decimal bytes: 3.1e9 -> "3.10 GB".
std::string format_bytes(double bytes);
/// FLOPs: 3.68e18 -> "3.68 EFLOP".
std::string format_flops(double flops);
/// A count in short-scale words, for parameters and tokens: (1.24e9, "params") -> "1.24 B params",
/// (1e11, "tokens") -> "100 B tokens", (973e6, "params") -> "973 M params", (512) -> "512".
/// Trillions are spelled out ((2.5e12, "tokens") -> "2.50 trillion tokens": a bare "T" would
/// read as the context length T of the cost formulas); beyond 999.5 trillion, scientific.
std::string format_scale(double value, std::string_view noun = "");
/// A time given in microseconds, in ns, µs, ms or s by magnitude: 2087.6 -> "2.09 ms".
std::string format_time_us(double microseconds);
/// A time given in seconds, as format_time_us.
std::string format_seconds(double seconds);
/// Elapsed wall time: "350 ms", "1.2 s", "2 min 5 s", "1 h 3 min".
std::string format_duration(double seconds);
/// At most `significant` significant digits, trailing zeros dropped, no exponent for ordinary
/// magnitudes: 0.09999999999999998 -> "0.1", 1.0/3 -> "0.3333", 2.615 -> "2.615", 50304 -> "50304".
std::string format_decimal(double value, int significant = 4);
/// A token count: 131072 -> "128K", 1048576 -> "1M", 1000 -> "1000", 1e9 -> "1.00 B".
std::string format_context(double tokens);
/// 0.508 -> "50.8%".
std::string format_percent(double fraction);

/// Reads a value as format_si writes it, with or without the space, the prefix and the unit
/// (the unit case-insensitive, a plural "s" allowed): ("4.75 GB", "B"), ("4.75G", "B") and
/// ("4.75e9", "B") are 4.75e9; ("3.68 ZFLOPs", "FLOP") is 3.68e21. Errors name the text.
Result<double> parse_si(std::string_view text, std::string_view unit);

}  // namespace gqaforge
