// Logging: one mutex-guarded write per line so lines from worker threads never interleave.
#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace gqaforge {
namespace {

LogLevel level_from_env() {
  const char* env = std::getenv("GQAFORGE_LOG");
  if (env == nullptr) return LogLevel::kInfo;
  if (std::strcmp(env, "debug") == 0) return LogLevel::kDebug;
  if (std::strcmp(env, "warn") == 0) return LogLevel::kWarn;
  if (std::strcmp(env, "error") == 0) return LogLevel::kError;
  return LogLevel::kInfo;
}

std::atomic<int>& threshold() {
  static std::atomic<int> value{static_cast<int>(level_from_env())};
  return value;
}

std::mutex& log_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

LogLevel log_threshold() { return static_cast<LogLevel>(threshold().load()); }
void set_log_threshold(LogLevel level) { threshold().store(static_cast<int>(level)); }

void log_line(LogLevel level, const std::string& message) {
  static const char* kPrefix[] = {"debug: ", "", "warning: ", "error: "};
  std::lock_guard<std::mutex> lock(log_mutex());
  std::fprintf(stderr, "%s%s\n", kPrefix[static_cast<int>(level)], message.c_str());
  std::fflush(stderr);
}

}  // namespace gqaforge
