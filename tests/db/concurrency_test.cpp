// Multi-process tests on one database file: concurrent writers lose nothing, and a process
// that dies mid-run leaves every row it recorded and an unfinished run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "db/database.h"
#include "db/merge.h"
#include "tests/db/test_util.h"

namespace gqaforge::db {
namespace {

using testing::ScratchDir;

// Child body: opens `path` itself, starts a run, records `rows` measurements (one transaction
// each). Exits 0 when everything succeeded; with `finish` false it _exit()s without ending the
// run or closing the database, like a killed tuner.
[[noreturn]] void child_writer(const std::string& path, const std::string& tag, int rows, bool finish) {
  auto db = Database::open(path);
  if (!db.ok()) {
    std::fprintf(stderr, "child %s: %s\n", tag.c_str(), db.status().to_string().c_str());
    _exit(10);
  }
  TuneRunRecord run;
  run.command_line = "gqaforge tune " + tag;
  const int64_t run_id = (*db)->begin_run(testing::sample_env(), run);
  for (int i = 0; i < rows; ++i) {
    auto m = testing::sample_measurement(testing::sample_env().key(), testing::decode_problem(),
                                         fmt::format("{}-{:04}", tag, i), 1.0 + i);
    m.run_id = run_id;
    (*db)->record(m);
  }
  if (!(*db)->sink_status().ok()) {
    std::fprintf(stderr, "child %s: %s\n", tag.c_str(), (*db)->sink_status().to_string().c_str());
    _exit(11);
  }
  if (finish) {
    (*db)->end_run(run_id);
    db->reset();
  }
  _exit(0);
}

int wait_for(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(ConcurrencyTest, TwoProcessesWritingOneFileLoseNothing) {
  ScratchDir dir;
  const std::string path = dir.file("shared.sqlite");  // created by whichever child comes first
  constexpr int kRows = 150;
  pid_t a = fork();
  ASSERT_GE(a, 0);
  if (a == 0) child_writer(path, "a", kRows, true);
  pid_t b = fork();
  ASSERT_GE(b, 0);
  if (b == 0) child_writer(path, "b", kRows, true);
  EXPECT_EQ(wait_for(a), 0);
  EXPECT_EQ(wait_for(b), 0);

  auto db = Database::open(path, OpenMode::kReadOnly);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  auto info = (*db)->info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->measurements, 2 * kRows);
  EXPECT_EQ(info->runs, 2);
  EXPECT_EQ(info->unfinished_runs, 0);
  EXPECT_EQ(info->environments, 1);
  EXPECT_EQ((*db)->measured_keys(testing::sample_env().key(), testing::decode_problem()).size(), 2u * kRows);
  EXPECT_EQ(*(*db)->integrity_check(), "ok");
}

TEST(ConcurrencyTest, InterruptedRunKeepsEveryRecordedRowAndResumes) {
  ScratchDir dir;
  const std::string path = dir.file("interrupted.sqlite");
  constexpr int kRows = 25;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) child_writer(path, "killed", kRows, false);
  ASSERT_EQ(wait_for(child), 0);

  auto db = Database::open(path);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  EXPECT_EQ(*(*db)->integrity_check(), "ok");
  auto runs = (*db)->runs();
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_TRUE((*runs)[0].finished_at.empty());
  EXPECT_EQ((*runs)[0].command_line, "gqaforge tune killed");
  auto rows = (*db)->measurements({});
  ASSERT_EQ(rows->size(), static_cast<size_t>(kRows));
  for (const auto& m : *rows) EXPECT_EQ(m.run_id, (*runs)[0].id);

  // The same tune command run again measures only what is missing.
  const auto done = (*db)->measured_keys(testing::sample_env().key(), testing::decode_problem());
  EXPECT_EQ(done.size(), static_cast<size_t>(kRows));
  EXPECT_EQ(done.front(), "killed-0000");
  EXPECT_EQ(done.back(), fmt::format("killed-{:04}", kRows - 1));
}

TEST(ConcurrencyTest, AMergeIntoAFileATunerIsWritingNeverStallsTheTuner) {
  ScratchDir dir;
  const std::string in = dir.file("big.sqlite"), out = dir.file("shared.sqlite");
  constexpr int kRows = 60000;
  {
    auto db = Database::open(in);
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    DbContents c;
    const Environment env = testing::sample_env("NVIDIA A100", 108);
    c.environments.push_back({env.key(), env});
    for (int i = 0; i < kRows; ++i) {
      c.measurements.push_back(
          {"", testing::sample_measurement(env.key(), testing::decode_problem(), fmt::format("m{:05}", i), 1.0 + i)});
    }
    ASSERT_TRUE((*db)->merge(std::span<const DbContents>(&c, 1)).ok());
  }
  ASSERT_TRUE(Database::open(out).ok());

  // The "tuner": records a row every few ms and reports its slowest write.
  int ready[2], stop[2], report[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(stop), 0);
  ASSERT_EQ(pipe(report), 0);
  pid_t tuner = fork();
  ASSERT_GE(tuner, 0);
  if (tuner == 0) {
    auto db = Database::open(out);
    if (!db.ok()) _exit(10);
    fcntl(stop[0], F_SETFL, O_NONBLOCK);
    int64_t slowest_ms = 0, rows = 0;
    char c = 0;
    while (read(stop[0], &c, 1) < 0) {
      const auto start = std::chrono::steady_clock::now();
      (*db)->record(testing::sample_measurement(testing::sample_env().key(), testing::decode_problem(),
                                                fmt::format("t{:05}", rows), 2.0));
      const auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
      slowest_ms = std::max<int64_t>(slowest_ms, ms);
      if (++rows == 1 && write(ready[1], "r", 1) != 1) _exit(12);
      usleep(5000);
    }
    const int64_t result[2] = {slowest_ms, rows};
    if (write(report[1], result, sizeof result) != sizeof result) _exit(13);
    _exit((*db)->sink_status().ok() ? 0 : 11);
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  const auto start = std::chrono::steady_clock::now();
  auto stats = merge_databases(out, {in});
  const auto merge_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  usleep(50000);
  ASSERT_EQ(write(stop[1], "s", 1), 1);
  int64_t result[2] = {-1, -1};
  ASSERT_EQ(read(report[0], result, sizeof result), static_cast<ssize_t>(sizeof result));
  EXPECT_EQ(wait_for(tuner), 0) << "the tuner lost a row";
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->measurements_added, kRows);
  EXPECT_GT(stats->transactions, 1);
  // One transaction for the whole merge would stall the tuner for all of it.
  const int64_t bound_ms = std::max<int64_t>(750, merge_ms / 3);
  EXPECT_LT(result[0], bound_ms) << "slowest tuner write " << result[0] << " ms during a " << merge_ms << " ms merge";
  auto db = Database::open(out, OpenMode::kReadOnly);
  ASSERT_TRUE(db.ok());
  EXPECT_EQ((*db)->info()->measurements, kRows + result[1]);
  std::printf(
      "merge of %d rows: %lld ms in %lld transactions; the tuner wrote %lld rows, the "
      "slowest in %lld ms\n",
      kRows, static_cast<long long>(merge_ms), static_cast<long long>(stats->transactions),
      static_cast<long long>(result[1]), static_cast<long long>(result[0]));
}

TEST(ConcurrencyTest, FourWritersAsFastAsTheyCanAllGetTheirTurn) {
  // SQLite's write lock has no queue, so every writer waits by polling (Connection::
  // set_busy_timeout). Four processes committing one row after the other, flat out, lose
  // nothing.
  ScratchDir dir;
  const std::string path = dir.file("contended.sqlite");
  ASSERT_TRUE(Database::open(path).ok());
  constexpr int kWriters = 4, kRows = 1500;
  std::vector<pid_t> children;
  for (int w = 0; w < kWriters; ++w) {
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) child_writer(path, fmt::format("w{}", w), kRows, true);
    children.push_back(child);
  }
  for (pid_t child : children) EXPECT_EQ(wait_for(child), 0);
  auto db = Database::open(path, OpenMode::kReadOnly);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  EXPECT_EQ((*db)->info()->measurements, kWriters * kRows);
}

}  // namespace
}  // namespace gqaforge::db
