// Number formatting helpers.
#include "costmodel/units.h"

#include <cmath>

#include <fmt/format.h>

namespace gqaforge::costmodel {

std::string format_si(double value, const std::string& unit) {
  static const char* kPrefixes[] = {"", "k", "M", "G", "T", "P", "E"};
  if (!std::isfinite(value)) return "n/a";
  double v = value;
  int p = 0;
  while (std::fabs(v) >= 999.5 && p < 6) {
    v /= 1000.0;
    ++p;
  }
  std::string number = std::fabs(v) >= 99.95 ? fmt::format("{:.0f}", v)
                       : std::fabs(v) >= 9.995 ? fmt::format("{:.1f}", v)
                                               : fmt::format("{:.2f}", v);
  std::string suffix = std::string(kPrefixes[p]) + unit;
  return suffix.empty() ? number : number + " " + suffix;
}

std::string format_bytes(double bytes) { return format_si(bytes, "B"); }

std::string format_percent(double fraction) { return fmt::format("{:.1f}%", 100.0 * fraction); }

}  // namespace gqaforge::costmodel
