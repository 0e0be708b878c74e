// Tests of merging database files: no duplicates, remapped run ids, latest-wins conflicts,
// and all-or-nothing behaviour when an input is bad.
#include "db/merge.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "db/export.h"
#include "tests/db/test_util.h"

namespace gqaforge::db {
namespace {

using testing::decode_problem;
using testing::sample_env;
using testing::sample_measurement;
using testing::ScratchDir;

// Writes a database at `path`: one run per entry of `runs` (its command line), each recording
// the given kernel keys with the given median and time.
struct RowSpec {
  std::string kernel_key;
  double median_us;
  std::string measured_at;
  bool is_best = false;
};
void make_db(const std::string& path, const Environment& env, const std::string& command,
             const std::vector<RowSpec>& rows) {
  auto db = Database::open(path);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  TuneRunRecord run;
  run.command_line = command;
  const int64_t id = (*db)->begin_run(env, run);
  for (const RowSpec& r : rows) {
    auto m = sample_measurement(env.key(), decode_problem(), r.kernel_key, r.median_us, r.measured_at);
    m.run_id = id;
    m.is_best = r.is_best;
    (*db)->record(m);
  }
  (*db)->end_run(id);
  ASSERT_TRUE((*db)->sink_status().ok()) << (*db)->sink_status().to_string();
}

const MeasurementRecord* find_row(const std::vector<MeasurementRecord>& rows, const std::string& env_key,
                                  const std::string& kernel_key) {
  for (const auto& m : rows) {
    if (m.env_key == env_key && m.kernel_key == kernel_key) return &m;
  }
  return nullptr;
}

TEST(MergeTest, CombinesFilesWithoutDuplicatesAndRemapsRunIds) {
  ScratchDir dir;
  const Environment h200 = sample_env();
  const Environment a100 = sample_env("NVIDIA A100", 108);
  const std::string gpu0 = dir.file("gpu0.sqlite"), gpu1 = dir.file("gpu1.sqlite"), out = dir.file("all.sqlite");
  make_db(gpu0, h200, "tune gpu0", {{"k1", 10, "2026-01-01T00:00:00Z"}, {"k2", 11, "2026-01-01T00:00:00Z"}});
  make_db(gpu1, h200, "tune gpu1", {{"k1", 9, "2026-01-05T00:00:00Z"}, {"k3", 12, "2026-01-05T00:00:00Z"}});
  {
    // A second environment and run inside gpu1.
    auto db = Database::open(gpu1);
    ASSERT_TRUE(db.ok());
    const int64_t id = (*db)->begin_run(a100, {});
    auto m = sample_measurement(a100.key(), decode_problem(), "k1", 20);
    m.run_id = id;
    (*db)->record(m);
    ASSERT_TRUE((*db)->sink_status().ok());
  }

  auto stats = merge_databases(out, {gpu0, gpu1});
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->environments_added, 2);
  EXPECT_EQ(stats->runs_added, 3);
  EXPECT_EQ(stats->measurements_added, 4);    // h200: k1 k2 k3, a100: k1
  EXPECT_EQ(stats->measurements_updated, 1);  // h200 k1 measured again later on gpu1

  auto db = Database::open(out, OpenMode::kReadOnly);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  auto rows = *(*db)->measurements({});
  ASSERT_EQ(rows.size(), 4u);
  auto runs = *(*db)->runs();
  ASSERT_EQ(runs.size(), 3u);
  auto command_of = [&](int64_t run_id) {
    for (const auto& r : runs) {
      if (r.id == run_id) return r.command_line;
    }
    return std::string("<no run>");
  };
  const MeasurementRecord* k1 = find_row(rows, h200.key(), "k1");
  ASSERT_NE(k1, nullptr);
  EXPECT_EQ(k1->median_us, 9);  // the later measurement won
  EXPECT_EQ(command_of(k1->run_id), "tune gpu1");
  EXPECT_EQ(command_of(find_row(rows, h200.key(), "k2")->run_id), "tune gpu0");
  EXPECT_EQ(command_of(find_row(rows, h200.key(), "k3")->run_id), "tune gpu1");
  EXPECT_EQ(command_of(find_row(rows, a100.key(), "k1")->run_id), "");
  EXPECT_EQ((*db)->environments()->size(), 2u);
  db->reset();

  // Merging the same inputs again changes nothing.
  const std::string before = *export_database(**Database::open(out, OpenMode::kReadOnly));
  auto again = merge_databases(out, {gpu1, gpu0});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->environments_added + again->runs_added + again->measurements_added, 0);
  EXPECT_EQ(again->measurements_skipped, 1);  // gpu0's older k1
  EXPECT_EQ(*export_database(**Database::open(out, OpenMode::kReadOnly)), before);
}

TEST(MergeTest, TheLatestBestMarkWins) {
  ScratchDir dir;
  const Environment env = sample_env();
  const std::string a = dir.file("a.sqlite"), b = dir.file("b.sqlite"), out = dir.file("out.sqlite");
  make_db(a, env, "a", {{"k1", 10, "2026-01-01T00:00:00Z", true}, {"k2", 12, "2026-01-01T00:00:00Z"}});
  make_db(b, env, "b", {{"k2", 11, "2026-02-01T00:00:00Z", true}});
  for (const auto& order : {std::vector<std::string>{a, b}, std::vector<std::string>{b, a}}) {
    std::filesystem::remove(out);
    ASSERT_TRUE(merge_databases(out, order).ok());
    auto db = Database::open(out, OpenMode::kReadOnly);
    ASSERT_TRUE(db.ok());
    auto best = *(*db)->best({});
    ASSERT_EQ(best.size(), 1u);
    EXPECT_EQ(best[0].kernel_key, "k2");
    EXPECT_EQ(best[0].median_us, 11);
    int marked = 0;
    const auto rows = *(*db)->measurements({});
    for (const auto& m : rows) marked += m.is_best ? 1 : 0;
    EXPECT_EQ(marked, 1);
  }
}

TEST(MergeTest, ABadInputLeavesTheOutputUnchanged) {
  ScratchDir dir;
  const std::string good = dir.file("good.sqlite"), text = dir.file("notes.txt"), out = dir.file("out.sqlite");
  make_db(good, sample_env(), "good", {{"k1", 10, "2026-01-01T00:00:00Z"}});
  testing::write_bytes(text, "not a database\n");

  // A missing output is not created.
  auto stats = merge_databases(out, {good, text});
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find(text), std::string::npos) << stats.status().message();
  EXPECT_FALSE(std::filesystem::exists(out));
  stats = merge_databases(out, {good, dir.file("missing.sqlite")});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing.sqlite")));

  // An existing output keeps its contents.
  make_db(out, sample_env("NVIDIA L4", 58), "out", {{"k9", 1, "2026-01-01T00:00:00Z"}});
  const std::string before = *export_database(**Database::open(out, OpenMode::kReadOnly));
  ASSERT_FALSE(merge_databases(out, {good, text}).ok());
  EXPECT_EQ(*export_database(**Database::open(out, OpenMode::kReadOnly)), before);
  EXPECT_EQ(testing::file_bytes(text), "not a database\n");
  EXPECT_FALSE(merge_databases(out, {}).ok());
}

TEST(MergeTest, TheOutputListedAsAnInputIsSkipped) {
  ScratchDir dir;
  const std::string a = dir.file("a.sqlite"), out = dir.file("out.sqlite");
  make_db(a, sample_env(), "a", {{"k1", 10, "2026-01-01T00:00:00Z"}});
  make_db(out, sample_env(), "out", {{"k2", 10, "2026-01-01T00:00:00Z"}});
  auto stats = merge_databases(out, {out, a});
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->measurements_added, 1);
  EXPECT_EQ((**Database::open(out, OpenMode::kReadOnly)).info()->measurements, 2);
}

// A database at `path` with `n` measurements written by one merge (fast, batched).
void make_many(const std::string& path, int n, const std::string& prefix = "k") {
  auto db = Database::open(path);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  const Environment env = sample_env();
  DbContents c;
  c.environments.push_back({env.key(), env});
  RunEntry run;
  run.uid = "uid-" + prefix;
  run.run.env_key = env.key();
  run.run.command_line = "tune " + prefix;
  run.run.started_at = "2026-01-01T00:00:00Z";
  c.runs.push_back(run);
  for (int i = 0; i < n; ++i) {
    c.measurements.push_back(
        {run.uid, sample_measurement(env.key(), decode_problem(), fmt::format("{}{:05}", prefix, i), 1.0 + i)});
  }
  auto stats = (*db)->merge(std::span<const DbContents>(&c, 1));
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
}

// Frames in a WAL file (its size past the 32-byte header, in 4 KiB pages plus frame headers).
int64_t wal_frames(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path + "-wal", ec);
  return ec || size < 32 ? 0 : static_cast<int64_t>((size - 32) / (24 + 4096));
}

TEST(MergeTest, WritesInBatchesAndARepeatedMergeRewritesNothing) {
  ScratchDir dir;
  const std::string in = dir.file("in.sqlite"), out = dir.file("out.sqlite");
  const int n = 2 * Database::kMergeBatchRows + 500;
  make_many(in, n);
  auto stats = merge_databases(out, {in});
  ASSERT_TRUE(stats.ok()) << stats.status().to_string();
  EXPECT_EQ(stats->measurements_added, n);
  EXPECT_GE(stats->transactions, 3);  // never one transaction for everything
  const std::string exported = *export_database(**Database::open(out, OpenMode::kReadOnly));

  // Keep a connection open so the WAL stays, and count what the second merge writes into it.
  sqlite3* holder = nullptr;
  ASSERT_EQ(sqlite3_open(out.c_str(), &holder), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(holder, "SELECT count(*) FROM measurements", nullptr, nullptr, nullptr), SQLITE_OK);
  const int64_t frames = wal_frames(out);
  auto again = merge_databases(out, {in});
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->measurements_unchanged, n);
  EXPECT_EQ(again->measurements_added + again->measurements_updated + again->measurements_skipped, 0);
  EXPECT_EQ(wal_frames(out), frames) << "identical rows were written again";
  sqlite3_close(holder);
  EXPECT_EQ(*export_database(**Database::open(out, OpenMode::kReadOnly)), exported);

  // A changed row is updated, the others stay unchanged.
  {
    auto db = Database::open(in);
    ASSERT_TRUE(db.ok());
    auto m = sample_measurement(sample_env().key(), decode_problem(), "k00007", 0.5, "2026-02-01T00:00:00Z");
    ASSERT_TRUE((*db)->add_measurement(m).ok());
  }
  auto third = merge_databases(out, {in});
  ASSERT_TRUE(third.ok()) << third.status().to_string();
  EXPECT_EQ(third->measurements_updated, 1);
  EXPECT_EQ(third->measurements_unchanged, n - 1);
}

TEST(MergeTest, AnInputWithABadValueIsRefusedBeforeAnythingIsWritten) {
  ScratchDir dir;
  const std::string good = dir.file("good.sqlite"), bad = dir.file("bad.sqlite"), out = dir.file("out.sqlite");
  make_many(good, 10, "g");
  make_many(bad, 10, "b");
  {
    // An ok row with a negative median, as a foreign or damaged writer might leave one.
    auto db = Database::open(bad);
    ASSERT_TRUE(db.ok());
    auto m = sample_measurement(sample_env().key(), decode_problem(), "b00003", -1.0);
    m.min_us = -1.0;
    m.measured_at = "2027-01-01T00:00:00Z";
    ASSERT_TRUE((*db)->add_measurement(m).ok());  // the tuner's own writes are not checked
  }
  auto stats = merge_databases(out, {good, bad});
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kInvalidArgument);
  const std::string m = stats.status().message();
  EXPECT_NE(m.find("'" + bad + "': measurement of kernel 'b00003'"), std::string::npos) << m;
  EXPECT_NE(m.find("column 'median_us': -1 on an ok row"), std::string::npos) << m;
  EXPECT_FALSE(std::filesystem::exists(out));  // checked before the output is even created
  make_many(out, 3, "o");
  const std::string before = *export_database(**Database::open(out, OpenMode::kReadOnly));
  ASSERT_FALSE(merge_databases(out, {good, bad}).ok());
  EXPECT_EQ(*export_database(**Database::open(out, OpenMode::kReadOnly)), before);
}

}  // namespace
}  // namespace gqaforge::db
