// Progress line rendering.
#include "core/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "core/strings.h"

namespace gqaforge {
namespace {

// The progress bar now drawn on a terminal, if any (one at a time: the innermost).
std::mutex& active_mutex() {
  static std::mutex m;
  return m;
}
Progress*& active() {
  static Progress* p = nullptr;
  return p;
}

void write_all(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

int terminal_columns(int fd) {
  struct winsize ws {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* env = std::getenv("COLUMNS")) {
    auto v = parse_int(env);
    if (v.ok() && *v > 0 && *v < 10000) return static_cast<int>(*v);
  }
  return 80;
}

Progress::Progress(std::string label, int64_t total, bool enabled)
    : Progress(std::move(label), total, enabled, Style{}) {}

Progress::Progress(std::string label, int64_t total, bool enabled, const Style& style)
    : label_(std::move(label)),
      total_(std::max<int64_t>(0, total)),
      enabled_(enabled),
      tty_(style.force_tty >= 0 ? style.force_tty == 1 : isatty(style.fd) != 0),
      style_(style),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {
  if (enabled_ && tty_) {
    std::lock_guard<std::mutex> lock(active_mutex());
    active() = this;
  }
}

Progress::~Progress() {
  finish();
  std::lock_guard<std::mutex> lock(active_mutex());
  if (active() == this) active() = nullptr;
}

int64_t Progress::done() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return done_;
}

int64_t Progress::total() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_;
}

void Progress::advance(int64_t n, const std::string& note) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  done_ += n;
  if (total_ > 0 && done_ > total_) total_ = done_;  // the estimate was low
  if (!note.empty()) item_ = note;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (tty_ ? style_.redraw_s : style_.plain_every_s)) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::set_item(const std::string& item) {
  std::lock_guard<std::mutex> lock(mutex_);
  item_ = item;
  // On a terminal, show the new item soon even when nothing completes for a while.
  const auto now = std::chrono::steady_clock::now();
  if (tty_ && !finished_ && std::chrono::duration<double>(now - last_draw_).count() >= style_.redraw_s) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::set_total(int64_t total) {
  std::lock_guard<std::mutex> lock(mutex_);
  total_ = std::max(total, done_);
}

void Progress::finish() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    finished_ = true;
    total_ = done_;  // the planned total was an estimate: the work is what was done
    draw(true);
  }
  std::lock_guard<std::mutex> lock(active_mutex());
  if (active() == this) active() = nullptr;
}

void Progress::clear_for_log() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!drawn_) return;
  write_all(style_.fd, "\r\033[K");
  drawn_ = false;
}

void progress_clear_for_log() {
  std::lock_guard<std::mutex> lock(active_mutex());
  if (active() != nullptr) active()->clear_for_log();
}

std::string Progress::render_line(size_t columns, bool final_line) const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // Parts, most important first: label and count, then time, then the bar, then the item.
  std::string count = total_ > 0 ? fmt::format("{}/{}", done_, total_) : fmt::format("{}", done_);
  std::string times;
  if (!final_line && total_ > 0 && done_ > 0 && done_ < total_) {
    const double eta = elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_);
    times = fmt::format("eta {}, {}", format_duration(eta), format_duration(elapsed));
  } else {
    times = format_duration(elapsed);
  }
  const std::string item = final_line ? "" : item_;
  if (!tty_) {  // a plain line for a log file: no bar, nothing cut
    std::string line = fmt::format("{}: {}", label_, count);
    if (total_ > 0) line += fmt::format(" ({:.0f}%)", 100.0 * static_cast<double>(done_) / static_cast<double>(total_));
    line += fmt::format("  {}", times);
    if (!item.empty()) line += fmt::format("  {}", item);
    return line;
  }
  // A terminal: the line must stay within columns - 1 (the last column would wrap on some).
  const size_t limit = columns > 1 ? columns - 1 : 1;
  const std::string head = fmt::format("{} ", label_);
  const std::string tail = fmt::format(" {}  {}", count, times);
  size_t fixed = display_width(head) + display_width(tail);
  std::string bar;
  if (total_ > 0) {
    // Bar of 10..24 cells, only when it fits beside the count and times.
    const size_t room = limit > fixed + 2 ? limit - fixed - 2 : 0;
    const size_t cells = std::min<size_t>(24, room);
    if (cells >= 10) {
      const auto filled =
          static_cast<size_t>(static_cast<double>(cells) * static_cast<double>(done_) / static_cast<double>(total_));
      const size_t f = std::min(filled, cells);
      bar = fmt::format("[{}{}]", std::string(f, '#'), std::string(cells - f, '.'));
    }
  }
  std::string line = bar.empty() ? fmt::format("{}{}", head, tail.substr(1)) : fmt::format("{}{}{}", head, bar, tail);
  if (!item.empty()) line += fmt::format("  {}", item);
  return truncate_to_width(line, limit);
}

void Progress::draw(bool final_line) {
  if (!enabled_) return;
  if (tty_) {
    const int columns = style_.columns > 0 ? style_.columns : terminal_columns(style_.fd);
    std::string out =
        fmt::format("\r\033[K{}{}", render_line(static_cast<size_t>(columns), final_line), final_line ? "\n" : "");
    write_all(style_.fd, out);
    drawn_ = !final_line;
  } else {
    write_all(style_.fd, fmt::format("{}\n", render_line(0, final_line)));
  }
}

}  // namespace gqaforge
