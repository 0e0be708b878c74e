// Human-readable numbers for tables and reports: SI-prefixed counts ("1.81 G"), byte sizes
// ("3.1 GB", decimal), and percentages.
#pragma once

#include <string>

namespace gqaforge::costmodel {

/// 1.81e9 -> "1.81 G" (k, M, G, T, P, E; three significant digits); `unit` is appended.
std::string format_si(double value, const std::string& unit = "");
/// Decimal bytes: 3.1e9 -> "3.10 GB".
std::string format_bytes(double bytes);
/// 0.508 -> "50.8%".
std::string format_percent(double fraction);

}  // namespace gqaforge::costmodel
