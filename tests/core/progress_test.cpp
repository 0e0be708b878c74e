// The progress line on a 100-column pseudo-terminal (forkpty): no line wider than the terminal,
// every redraw starts with "\r\033[K", the item named, the end at N/N; without a terminal:
// plain lines, no bar, no carriage returns.
#include "core/progress.h"

#include <gtest/gtest.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "core/strings.h"

namespace gqaforge {
namespace {

// Runs `body` in a child on a pty of `columns` columns; returns everything it wrote.
template <typename Body>
std::string run_on_pty(int columns, Body body) {
  struct winsize ws {};
  ws.ws_col = static_cast<unsigned short>(columns);
  ws.ws_row = 30;
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
  if (pid < 0) return "forkpty failed";
  if (pid == 0) {
    unsetenv("COLUMNS");
    body();
    std::fflush(nullptr);
    _exit(0);
  }
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;  // EIO once the child has exited and closed the slave
    out.append(buf, static_cast<size_t>(n));
  }
  close(master);
  int status = 0;
  waitpid(pid, &status, 0);
  return out;
}

// What each redraw leaves on one terminal row: the text between carriage returns / newlines.
std::vector<std::string> screen_segments(const std::string& out) {
  std::vector<std::string> segs;
  std::string cur;
  for (char c : out) {
    if (c == '\r' || c == '\n') {
      if (!cur.empty()) segs.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) segs.push_back(cur);
  return segs;
}

void work_with_long_names() {
  Progress p("tuning", 40);
  for (int i = 0; i < 30; ++i) {  // stops short of the planned 40: the estimate was high
    p.set_item(
        fmt::format("decode 8:1 d128 bf16 causal b1 q1 kv128k [block_n=64,warps=4,warps_m=1,stages=4,"
                    "use_mma=1,row_blocks=1,num_splits=0,fused_combine=0] try {}",
                    i));
    std::this_thread::sleep_for(std::chrono::milliseconds(12));
    p.advance(1);
    if (i == 15) log_warn("a warning in the middle of the sweep");
  }
  p.finish();
}

TEST(ProgressPty, FitsA100ColumnTerminalAndRedrawsInPlace) {
  std::string out = run_on_pty(100, work_with_long_names);
  ASSERT_FALSE(out.empty());
  size_t redraws = 0;
  for (size_t pos = out.find('\r'); pos != std::string::npos; pos = out.find('\r', pos + 1)) {
    // The pty turns '\n' into "\r\n"; every other carriage return must start a clearing redraw.
    if (pos + 1 < out.size() && out[pos + 1] == '\n') continue;
    EXPECT_EQ(out.compare(pos, 4, "\r\033[K"), 0) << "a redraw without \\033[K at byte " << pos;
    ++redraws;
  }
  EXPECT_GE(redraws, 5u) << out;
  for (const std::string& seg : screen_segments(out)) {
    EXPECT_LT(display_width(seg), 100u) << "wider than the terminal: " << seg;
  }
  EXPECT_NE(out.find("decode 8:1 d128"), std::string::npos) << "the item is named";
  EXPECT_NE(out.find("…"), std::string::npos) << "the long item is cut, not wrapped";
  // The warning is on a line of its own, and the last line is the final count at N/N.
  auto segs = screen_segments(out);
  bool warning_alone = false;
  for (const std::string& s : segs)
    warning_alone |= s == "\033[Kwarning: a warning in the middle of the sweep" ||
                     s == "warning: a warning in the middle of the sweep";
  EXPECT_TRUE(warning_alone) << out;
  ASSERT_FALSE(segs.empty());
  EXPECT_NE(segs.back().find("30/30"), std::string::npos) << segs.back();
}

TEST(ProgressPty, NarrowTerminalDropsTheBarFirst) {
  std::string out = run_on_pty(40, [] {
    Progress p("compiling", 8);
    for (int i = 0; i < 8; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(15));
      p.advance(1, "gqaforge_prefill 32:8 d128 with a long name");
    }
  });
  for (const std::string& seg : screen_segments(out)) EXPECT_LT(display_width(seg), 40u) << seg;
  EXPECT_NE(out.find("8/8"), std::string::npos) << out;
}

TEST(Progress, PlainLinesWhenNotATerminal) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  Progress::Style style;
  style.fd = fds[1];
  style.plain_every_s = 0.02;
  {
    Progress p("tuning", 10, true, style);
    for (int i = 0; i < 6; ++i) {
      p.set_item(fmt::format("prefill 32:8 problem {}", i));
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      p.advance(1);
    }
    p.set_total(6);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  EXPECT_EQ(out.find('['), std::string::npos) << "no bar: " << out;
  auto lines = split(out, '\n');
  ASSERT_GE(lines.size(), 3u) << out;
  EXPECT_NE(out.find("tuning: 1/10 (10%)"), std::string::npos) << out;
  EXPECT_NE(out.find("prefill 32:8 problem"), std::string::npos) << out;
  EXPECT_EQ(lines[lines.size() - 2].rfind("tuning: 6/6 (100%)", 0), 0u) << out;
}

TEST(Progress, CountNeverPassesTheTotalAndFinishEndsAtIt) {
  Progress::Style style;
  style.force_tty = 1;
  Progress p("tuning", 3, false, style);
  p.advance(5);
  EXPECT_EQ(p.total(), 5);  // the estimate was low: the total follows the count
  EXPECT_NE(p.render_line(100, false).find("5/5"), std::string::npos);
  p.set_total(9);
  EXPECT_NE(p.render_line(100, false).find("5/9"), std::string::npos);
  p.set_total(2);
  EXPECT_EQ(p.total(), 5);
  p.set_item("decode 8:1 d128 b1 kv4k");
  EXPECT_NE(p.render_line(100, false).find("decode 8:1 d128 b1 kv4k"), std::string::npos);
  p.finish();
  EXPECT_EQ(p.total(), 5);
  for (size_t cols : {20u, 50u, 80u, 100u, 200u}) EXPECT_LT(display_width(p.render_line(cols, false)), cols);
}

TEST(Progress, TerminalColumnsFallBackToTheEnvironment) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  setenv("COLUMNS", "77", 1);
  EXPECT_EQ(terminal_columns(fds[1]), 77);
  unsetenv("COLUMNS");
  EXPECT_EQ(terminal_columns(fds[1]), 80);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace gqaforge
