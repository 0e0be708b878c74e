// The CLI's value validators.
#include "tools/validators.h"

#include <cctype>

#include <fmt/format.h>

#include "core/strings.h"

namespace gqaforge::tools {
namespace {

// A validator without a description: the metavar alone stands in the help.
CLI::Validator make(std::function<std::string(std::string&)> fn) {
  return CLI::Validator(std::move(fn), "", "");
}

// Plain decimal text CLI11 converts exactly: integers as such, other numbers with every digit.
std::string plain(double v) {
  return fmt::format("{}", v);
}

}  // namespace

CLI::Validator integer_in(int64_t lo, int64_t hi) {
  return make([lo, hi](std::string& text) -> std::string {
    auto v = parse_int(text);
    const bool in = v.ok() && *v >= lo && *v <= hi;
    if (in) {
      text = std::to_string(*v);
      return "";
    }
    if (hi == std::numeric_limits<int64_t>::max()) {
      if (lo == 0) return fmt::format("'{}' is not a non-negative integer", text);
      if (lo == 1) return fmt::format("'{}' is not a positive integer", text);
      return fmt::format("'{}' is not an integer of at least {}", text, lo);
    }
    return fmt::format("'{}' must be an integer in {}..{}", text, lo, hi);
  });
}

CLI::Validator positive_count() {
  return make([](std::string& text) -> std::string {
    auto v = parse_count(text);
    if (!v.ok() || *v <= 0) return fmt::format("'{}' must be a positive count such as 8192, 128k or 1e6", text);
    text = std::to_string(*v);
    return "";
  });
}

CLI::Validator positive_count_list() {
  return make([](std::string& text) -> std::string {
    auto v = parse_count_list(text);
    if (!v.ok()) return fmt::format("'{}': {}", text, v.status().message());
    if (v->empty()) return "the list is empty";
    for (int64_t x : *v) {
      if (x <= 0) return fmt::format("'{}': {} is not positive", text, x);
    }
    return "";
  });
}

CLI::Validator number_in(double lo, double hi) {
  return make([lo, hi](std::string& text) -> std::string {
    auto v = parse_double(text);
    if (!v.ok() || !(*v >= lo && *v <= hi)) return fmt::format("'{}' must be a number in [{}, {}]", text, lo, hi);
    text = plain(*v);
    return "";
  });
}

CLI::Validator positive_number() {
  return make([](std::string& text) -> std::string {
    auto v = parse_double(text);
    if (!v.ok() || !(*v > 0)) return fmt::format("'{}' must be a positive number", text);
    text = plain(*v);
    return "";
  });
}

CLI::Validator duration() {
  return make([](std::string& text) -> std::string {
    std::string number = text;
    double scale = 1;
    if (!text.empty()) {
      const char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(text.back())));
      if (unit == 's' || unit == 'm' || unit == 'h') {
        number = text.substr(0, text.size() - 1);
        scale = unit == 'h' ? 3600 : (unit == 'm' ? 60 : 1);
      }
    }
    auto v = parse_double(number);
    if (!v.ok() || !(*v > 0)) return fmt::format("'{}' is not a positive duration (e.g. 90s, 10m, 1h)", text);
    text = plain(*v * scale);
    return "";
  });
}

CLI::Validator one_of(const std::vector<std::string>& names, bool ignore_case) {
  CLI::Validator v = ignore_case ? CLI::Validator(CLI::IsMember(names, CLI::ignore_case)) : CLI::IsMember(names);
  v.description("");
  return v;
}

CLI::Validator checked_by(std::function<Status(const std::string&)> check) {
  return make([check = std::move(check)](std::string& text) -> std::string {
    Status s = check(text);
    return s.ok() ? std::string() : s.message();
  });
}

CLI::Validator each_item(std::function<Status(const std::string&)> check) {
  return make([check = std::move(check)](std::string& text) -> std::string {
    for (const std::string& item : split(text, ',')) {
      Status s = check(trim(item));
      if (!s.ok()) return fmt::format("'{}': {}", trim(item), s.message());
    }
    return "";
  });
}

}  // namespace gqaforge::tools
