// Logging: one mutex-guarded write per line so lines from worker threads never interleave.
#include "core/log.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cctype>
#include <cstring>
#include <string>
#include <mutex>

#include "core/progress.h"

namespace gqaforge {
namespace {

LogLevel level_from_env() {
  const char* env = std::getenv("GQAFORGE_LOG");
  if (env == nullptr || *env == '\0') return LogLevel::kInfo;
  std::string v = env;
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "debug") return LogLevel::kDebug;
  if (v == "info") return LogLevel::kInfo;
  if (v == "warn" || v == "warning") return LogLevel::kWarn;
  if (v == "error") return LogLevel::kError;
  std::fprintf(stderr, "warning: GQAFORGE_LOG='%s' is not debug, info, warn or error; using info\n", env);
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
  progress_clear_for_log();  // a progress bar on the terminal would swallow the line's start
  std::fprintf(stderr, "%s%s\n", kPrefix[static_cast<int>(level)], message.c_str());
  std::fflush(stderr);
}

}  // namespace gqaforge
