// Multi-process tests on one database file: concurrent writers lose nothing, and a process
// that dies mid-run leaves every row it recorded and an unfinished run.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/database.h"
#include "tests/db/test_util.h"

namespace gqaforge {
namespace {

using testing::ScratchDir;

// Child body: opens `path` itself, starts a run, records `rows` measurements (one transaction
// each). Exits 0 when everything succeeded; with `finish` false it _exit()s without ending the
// run or closing the database, like a killed tuner.
[[noreturn]] void child_writer(const std::string& path, const std::string& tag, int rows,
                               bool finish) {
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
  EXPECT_EQ((*db)->measured_keys(testing::sample_env().key(), testing::decode_problem()).size(),
            2u * kRows);
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

}  // namespace
}  // namespace gqaforge
