// Progress reporting for long work (compiles, tuning sweeps): count, rate and ETA on stderr.
// On a terminal the line is redrawn in place; otherwise a line is printed every few seconds.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

namespace gqaforge {

class Progress {
 public:
  /// `label` says what is being done ("compiling"), `total` the number of items (0 = unknown).
  Progress(std::string label, int64_t total, bool enabled = true);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  /// Marks `n` more items done; `note` names the last item (shown on the line).
  void advance(int64_t n = 1, const std::string& note = "");
  /// Prints the final line (called by the destructor if not called before).
  void finish();
  int64_t done() const;

 private:
  void draw(bool final_line);
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  bool enabled_;
  bool tty_;
  bool finished_ = false;
  std::string note_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  mutable std::mutex mutex_;
};

/// "1.2 s", "350 ms", "2 min 5 s".
std::string format_duration(double seconds);

}  // namespace gqaforge
