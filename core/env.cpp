#include "core/env.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>

#include <fmt/format.h>

namespace gqaforge {

std::optional<std::string> env_setting(std::string_view name) {
  const std::string current = fmt::format("GQAFORGE_{}", name);
  if (const char* v = std::getenv(current.c_str()); v != nullptr && *v != '\0') return std::string(v);
  const std::string legacy = fmt::format("GQF_{}", name);
  const char* v = std::getenv(legacy.c_str());
  if (v == nullptr || *v == '\0') return std::nullopt;
  static std::mutex mu;
  static std::set<std::string> warned;
  std::lock_guard<std::mutex> lock(mu);
  if (warned.insert(legacy).second) {
    std::fprintf(stderr, "gqaforge: warning: %s is deprecated; set %s instead\n", legacy.c_str(), current.c_str());
  }
  return std::string(v);
}

Result<std::optional<double>> env_number(std::string_view name) {
  std::optional<std::string> text = env_setting(name);
  if (!text) return std::optional<double>();
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text->c_str(), &end);
  if (end == text->c_str() || *end != '\0' || errno == ERANGE || !std::isfinite(value)) {
    return invalid_argument("GQAFORGE_{}='{}' is not a number", name, *text);
  }
  return std::optional<double>(value);
}

}  // namespace gqaforge
