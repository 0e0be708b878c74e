// Logging through spdlog: one logger on stderr whose sink clears an active progress line before
// each message, under the sink's lock, so lines from worker threads never interleave.
#include "core/log.h"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "core/progress.h"

namespace gqaforge {
namespace {

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

// "%*": the line's prefix by level ("debug: ", "warning: ", "error: "); info lines have none,
// as they are the command's own narration.
class LevelPrefix : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/, spdlog::memory_buf_t& dest) override {
    std::string_view prefix;
    switch (msg.level) {
      case spdlog::level::trace:
      case spdlog::level::debug:
        prefix = "debug: ";
        break;
      case spdlog::level::warn:
        prefix = "warning: ";
        break;
      case spdlog::level::err:
      case spdlog::level::critical:
        prefix = "error: ";
        break;
      default:
        break;
    }
    dest.append(prefix.data(), prefix.data() + prefix.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<LevelPrefix>(); }
};

class StderrBesideProgress : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    progress_clear_for_log();  // a progress bar on the terminal would swallow the line's start
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

// GQAFORGE_LOG=debug|info|warn|error (any case); unset or empty means info. Another value is
// warned about (once: the logger is made once) and means info.
std::shared_ptr<spdlog::logger> make_logger() {
  auto sink = std::make_shared<StderrBesideProgress>();
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<LevelPrefix>('*').set_pattern("%*%v");
  sink->set_formatter(std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>("gqaforge", std::move(sink));
  logger->flush_on(spdlog::level::trace);  // every line reaches the terminal or log file at once
  logger->set_level(spdlog::level::info);
  const char* env = std::getenv("GQAFORGE_LOG");
  if (env == nullptr || *env == '\0') return logger;
  std::string v = env;
  for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v == "debug") {
    logger->set_level(spdlog::level::debug);
  } else if (v == "warn" || v == "warning") {
    logger->set_level(spdlog::level::warn);
  } else if (v == "error") {
    logger->set_level(spdlog::level::err);
  } else if (v != "info") {
    logger->warn("GQAFORGE_LOG='{}' is not debug, info, warn or error; using info", env);
  }
  return logger;
}

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = make_logger();
  return *instance;
}

}  // namespace

LogLevel log_threshold() {
  switch (logger().level()) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return LogLevel::kDebug;
    case spdlog::level::info:
      return LogLevel::kInfo;
    case spdlog::level::warn:
      return LogLevel::kWarn;
    default:
      return LogLevel::kError;
  }
}

void set_log_threshold(LogLevel level) {
  logger().set_level(to_spdlog(level));
}

void log_line(LogLevel level, const std::string& message) {
  // The templates in log.h have checked the threshold; log_error() needs none, as the
  // threshold never goes above error.
  logger().log(to_spdlog(level), spdlog::string_view_t(message));
}

}  // namespace gqaforge
