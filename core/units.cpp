// Number formatting with units.
#include "core/units.h"

#include <cmath>

#include <fmt/format.h>

#include "core/strings.h"

namespace gqaforge {
namespace {

// Three significant digits of a value in [0, 1000): "1.81", "25.0", "255".
std::string three_digits(double v) {
  const double a = std::fabs(v);
  if (a >= 99.95) return fmt::format("{:.0f}", v);
  if (a >= 9.995) return fmt::format("{:.1f}", v);
  if (a >= 0.9995 || a == 0) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3g}", v);
}

// Scales v by 1000 until it is below 1000 (after rounding to three digits); returns the step.
int thousands(double& v, int max_step) {
  int p = 0;
  while (std::fabs(v) >= 999.5 && p < max_step) {
    v /= 1000.0;
    ++p;
  }
  return p;
}

std::string join(const std::string& number, std::string_view suffix) {
  return suffix.empty() ? number : fmt::format("{} {}", number, suffix);
}

}  // namespace

std::string format_si(double value, std::string_view unit) {
  static const char* kPrefixes[] = {"", "k", "M", "G", "T", "P", "E", "Z", "Y"};
  if (!std::isfinite(value)) return "n/a";
  double v = value;
  const int p = thousands(v, 8);
  // Beyond the last prefix (Y): scientific, "3.68e+27 FLOP" rather than "3676 YFLOP".
  if (std::fabs(v) >= 999.5) return join(fmt::format("{:.2e}", value), unit);
  // Whole numbers below 1000 print whole: "512 B", "0 B" (not "0.00 B").
  const bool whole = p == 0 && v == std::floor(v);
  return join(whole ? fmt::format("{:.0f}", v) : three_digits(v), fmt::format("{}{}", kPrefixes[p], unit));
}

std::string format_bytes(double bytes) {
  return format_si(bytes, "B");
}

std::string format_flops(double flops) {
  return format_si(flops, "FLOP");
}

std::string format_scale(double value, std::string_view noun) {
  // "trillion" spelled out: a bare "T" next to the formulas' context length T reads as either.
  static const char* kWords[] = {"", "K", "M", "B", "trillion"};
  if (!std::isfinite(value)) return "n/a";
  double v = value;
  const int p = thousands(v, 4);
  if (std::fabs(v) >= 999.5) return join(fmt::format("{:.2e}", value), noun);
  std::string number = p == 0 && std::fabs(v - std::round(v)) < 1e-9 ? fmt::format("{:.0f}", v) : three_digits(v);
  if (p == 0) return join(number, noun);
  return join(number, noun.empty() ? std::string(kWords[p]) : fmt::format("{} {}", kWords[p], noun));
}

std::string format_time_us(double us) {
  if (!std::isfinite(us)) return "n/a";
  const double a = std::fabs(us);
  if (a == 0) return "0 s";
  if (a < 0.9995) return join(three_digits(us * 1e3), "ns");
  if (a < 999.5) return join(three_digits(us), "µs");
  if (a < 999.5e3) return join(three_digits(us / 1e3), "ms");
  return join(three_digits(us / 1e6), "s");
}

std::string format_seconds(double seconds) {
  return format_time_us(seconds * 1e6);
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds)) return "n/a";
  if (seconds < 1e-3) return format_seconds(seconds);
  if (seconds < 1.0) return fmt::format("{:.0f} ms", seconds * 1e3);
  if (seconds < 59.95) return fmt::format("{:.1f} s", seconds);
  const auto total = static_cast<int64_t>(seconds + 0.5);
  if (total < 3600) return fmt::format("{} min {} s", total / 60, total % 60);
  return fmt::format("{} h {} min", total / 3600, (total % 3600) / 60);
}

std::string format_decimal(double value, int significant) {
  if (!std::isfinite(value)) return "n/a";
  if (value == 0) return "0";
  const double a = std::fabs(value);
  if (a >= 1e15 || a < 1e-4) return fmt::format("{:.{}g}", value, significant);
  const int int_digits = static_cast<int>(std::floor(std::log10(a))) + 1;  // may be <= 0
  const int decimals = std::max(0, significant - int_digits);
  std::string s = fmt::format("{:.{}f}", value, decimals);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

std::string format_context(double tokens) {
  if (!std::isfinite(tokens)) return "n/a";
  if (tokens >= 0 && tokens < 9.0e15 && tokens == std::floor(tokens)) {
    const auto t = static_cast<int64_t>(tokens);
    if (t >= (int64_t{1} << 20) && t % (int64_t{1} << 20) == 0) return fmt::format("{}M", t >> 20);
    if (t >= 1024 && t % 1024 == 0) return fmt::format("{}K", t >> 10);
    if (t < 10000000) return fmt::format("{}", t);
  }
  return format_scale(tokens);
}

std::string format_percent(double fraction) {
  if (!std::isfinite(fraction)) return "n/a";
  return fmt::format("{:.1f}%", 100.0 * fraction);
}

Result<double> parse_si(std::string_view text, std::string_view unit) {
  static constexpr std::string_view kPrefixes = "kMGTPEZY";
  const std::string t = trim(text);
  const std::string unit_lower = to_lower(unit);
  // 1, 1000, 1e6 ... for a suffix "", "<unit>", "<prefix>" or "<prefix><unit>"; 0 when not one.
  auto scale_of = [&](std::string_view suffix) -> double {
    const std::string s = to_lower(suffix);
    auto is_unit = [&](std::string_view u) {
      return u.empty() || (!unit_lower.empty() && (u == unit_lower || u == unit_lower + "s"));
    };
    if (is_unit(s)) return 1.0;
    const size_t p = kPrefixes.find(suffix.front() == 'K' ? 'k' : suffix.front());
    if (p == std::string_view::npos || !is_unit(s.substr(1))) return 0.0;
    return std::pow(1000.0, static_cast<double>(p + 1));
  };
  // The longest leading number whose rest is a valid suffix ("2E3" is 2000, "2EFLOP" 2e18).
  for (size_t n = t.size(); n > 0; --n) {
    auto number = parse_double(std::string_view(t).substr(0, n));
    if (!number.ok()) continue;
    const double scale = scale_of(trim(std::string_view(t).substr(n)));
    if (scale == 0.0) break;
    return *number * scale;
  }
  return invalid_argument("'{}' is not a number with an optional SI prefix and unit (e.g. 4.5{}, 4.5 G{}, 4.5e9)",
                          trim(text), unit, unit);
}

}  // namespace gqaforge
