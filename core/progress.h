// Progress reporting for long work (compiles, tuning sweeps): count, ETA, elapsed time and the
// item being worked on, on stderr.
//
// On a terminal the line is redrawn in place ("\r\033[K" + line) at most every 0.1 s and never
// wider than the terminal (TIOCGWINSZ, else $COLUMNS, else 80; re-read at every redraw): the
// bar shrinks, then the item name is cut with "…", so a redraw never wraps and leaves no stale
// rows. When stderr is not a terminal there is no bar and no carriage return: one plain line
// every 10 s and one at the end. Log lines written while a bar is drawn clear it first.
//
// The total is an estimate the caller may correct (set_total); the count never shows more than
// the total (the total grows with it), and finish() always ends at N/N.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "core/units.h"

namespace gqaforge {

class Progress {
 public:
  /// Output settings; the defaults are what a real run wants, tests override them.
  struct Style {
    int fd = 2;                 // where the line goes (stderr)
    int columns = 0;            // 0 = ask the terminal, then $COLUMNS, then 80
    int force_tty = -1;         // -1 = isatty(fd); 0 / 1 = as if it were not / were a terminal
    double redraw_s = 0.1;      // terminal: least time between redraws
    double plain_every_s = 10;  // not a terminal: least time between plain lines
  };

  /// `label` says what is being done ("compiling"), `total` the planned number of items
  /// (0 = unknown), `enabled` false prints nothing.
  Progress(std::string label, int64_t total, bool enabled = true);
  Progress(std::string label, int64_t total, bool enabled, const Style& style);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Marks `n` more items done; `note` names the last item (shown until set_item names another).
  void advance(int64_t n = 1, const std::string& note = "");
  /// Names the item now being worked on, e.g. "decode 8:1 d128 b1 kv4k" (shown on the line).
  void set_item(const std::string& item);
  /// Corrects the planned total (an estimate that turned out wrong); never below done().
  void set_total(int64_t total);
  /// Prints the final line, at N/N (called by the destructor if not called before).
  void finish();
  int64_t done() const;
  int64_t total() const;

  /// The line for a given width (no escape codes): what a redraw prints. Exposed for tests.
  std::string render_line(size_t columns, bool final_line) const;

 private:
  void draw(bool final_line);
  void clear_for_log();
  friend void progress_clear_for_log();

  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  bool enabled_;
  bool tty_;
  Style style_;
  bool finished_ = false;
  bool drawn_ = false;  // a terminal line is on screen (not yet ended by '\n')
  std::string item_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  mutable std::mutex mutex_;
};

/// Columns of the terminal on `fd` (TIOCGWINSZ), else $COLUMNS, else 80.
int terminal_columns(int fd);

/// Called by the logger before it writes a line: clears a progress bar drawn on the terminal
/// so that the log line does not land in the middle of it (the bar comes back at its next redraw).
void progress_clear_for_log();

}  // namespace gqaforge
