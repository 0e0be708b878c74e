// Tests of the `gqaforge db` subcommands through the built binary: exit status 2 for usage
// errors, 1 for failures, one clear error line, and data left intact on bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>

#include "core/strings.h"
#include "db/export.h"
#include "tests/db/test_util.h"

namespace gqaforge {
namespace {

using testing::file_bytes;
using testing::ScratchDir;

struct CliResult {
  int rc = -1;
  std::string out;
  std::string err;
};

// Runs `gqaforge <args>` (args are shell words; the scratch paths need no quoting).
CliResult run_cli(const ScratchDir& dir, const std::string& args, const std::string& env = "") {
  const std::string binary = GQAFORGE_BINARY_DIR "/tools/gqaforge";
  EXPECT_TRUE(std::filesystem::exists(binary)) << binary << " was not built";
  const std::string out = dir.file("cli.stdout"), err = dir.file("cli.stderr");
  const std::string command =
      fmt::format("cd {} && {} {} {} >{} 2>{}", dir.path().string(), env, binary, args, out, err);
  int status = std::system(command.c_str());
  CliResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = file_bytes(out);
  r.err = file_bytes(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return r;
}

// A database file with a few rows.
void make_db(const std::string& path) {
  auto db = Database::open(path);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  const Environment env = testing::sample_env();
  TuneRunRecord run;
  run.command_line = "gqaforge tune --heads 32:8";
  const int64_t id = (*db)->begin_run(env, run);
  for (int i = 0; i < 3; ++i) {
    auto m = testing::sample_measurement(env.key(), testing::decode_problem(),
                                         fmt::format("k{}", i), 10.0 - i);
    m.run_id = id;
    (*db)->record(m);
  }
  (*db)->record(testing::sample_measurement(env.key(), testing::prefill_problem(), "p0", 500));
  (*db)->end_run(id);
  ASSERT_TRUE((*db)->sink_status().ok());
}

// One line on stderr, starting "gqaforge: error:" and containing `needle`.
void expect_error_line(const CliResult& r, const std::string& needle) {
  EXPECT_TRUE(starts_with(r.err, "gqaforge: error: ")) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
}

TEST(CliTest, UsageErrorsExitWithTwo) {
  ScratchDir dir;
  make_db(dir.file("a.sqlite"));
  struct Case {
    std::string args;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"db", "missing subcommand"},
      {"db frobnicate", "unknown subcommand 'frobnicate'"},
      {"db info --db a.sqlite --bogus", "unknown flag '--bogus'"},
      {"db info --db", "needs a value"},
      {"db best --db a.sqlite --heads 32", "--heads '32' is not Q:KV"},
      {"db best --db a.sqlite --heads 32:0", "--heads '32:0'"},
      {"db best --db a.sqlite --head-dim -4", "--head-dim '-4' is not a positive integer"},
      {"db best --db a.sqlite --batch 2q", "--batch '2q' is not a positive integer"},
      {"db best --db a.sqlite --head-dim 12x", "--head-dim '12x' is not a positive integer"},
      {"db best --db a.sqlite --family decod", "--family 'decod' is not one of"},
      {"db best --db a.sqlite --dtype fp8", "--dtype 'fp8'"},
      {"db best --db a.sqlite --kv-len 0", "--kv-len '0'"},
      {"db export --db a.sqlite -o", "needs a value"},
      {"db import", "missing argument <file>"},
      {"db merge out.sqlite", "missing argument <input>"},
      {"db info --db ''", "database path is empty"},
  };
  for (const Case& c : cases) {
    CliResult r = run_cli(dir, c.args);
    EXPECT_EQ(r.rc, 2) << c.args << "\n" << r.err;
    expect_error_line(r, c.needle);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.sqlite")));
}

TEST(CliTest, HelpOnEverySubcommand) {
  ScratchDir dir;
  for (const char* sub : {"", " info", " best", " export", " import", " merge", " migrate"}) {
    CliResult r = run_cli(dir, fmt::format("db{} --help", sub));
    EXPECT_EQ(r.rc, 0) << sub;
    EXPECT_TRUE(starts_with(r.out, "usage: gqaforge db")) << r.out;
  }
}

TEST(CliTest, BadFilesAreRefusedAndLeftIntact) {
  ScratchDir dir;
  testing::write_bytes(dir.file("notes.txt"), "hello\n");
  CliResult r = run_cli(dir, "db info --db notes.txt");
  EXPECT_EQ(r.rc, 2);
  expect_error_line(r, "'notes.txt' is not a gqaforge database");
  EXPECT_EQ(file_bytes(dir.file("notes.txt")), "hello\n");

  r = run_cli(dir, "db info --db missing.sqlite");
  EXPECT_EQ(r.rc, 1);
  expect_error_line(r, "'missing.sqlite' does not exist");
  r = run_cli(dir, "db best --db missing.sqlite");
  EXPECT_EQ(r.rc, 1);
  r = run_cli(dir, "db export --db missing.sqlite");
  EXPECT_EQ(r.rc, 1);
  EXPECT_FALSE(std::filesystem::exists(dir.file("missing.sqlite")));  // never created

  make_db(dir.file("newer.sqlite"));
  {
    auto conn = sql::Connection::open(dir.file("newer.sqlite"), SQLITE_OPEN_READWRITE);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn->exec("PRAGMA journal_mode = DELETE; PRAGMA user_version = 7").ok());
  }
  const std::string newer = file_bytes(dir.file("newer.sqlite"));
  for (const char* args : {"db info --db newer.sqlite", "db import notes.txt --db newer.sqlite",
                           "db merge newer.sqlite notes.txt", "db migrate --db newer.sqlite"}) {
    r = run_cli(dir, args);
    EXPECT_NE(r.rc, 0) << args;
    EXPECT_TRUE(starts_with(r.err, "gqaforge: error: ")) << r.err;
  }
  r = run_cli(dir, "db info --db newer.sqlite");
  EXPECT_EQ(r.rc, 1);
  expect_error_line(r, "schema version 7, newer");
  EXPECT_EQ(file_bytes(dir.file("newer.sqlite")), newer);
}

TEST(CliTest, MalformedImportNamesTheLineAndChangesNothing) {
  ScratchDir dir;
  make_db(dir.file("a.sqlite"));
  auto db = Database::open(dir.file("a.sqlite"), OpenMode::kReadOnly);
  ASSERT_TRUE(db.ok());
  std::string text = *export_database(**db);
  db->reset();
  std::vector<std::string> lines = split(text, '\n');
  std::vector<std::string> fields = split(lines[7], '\t');  // a measurement row, line 8
  fields[17] = "fast";                                      // median_us
  lines[7].clear();
  for (size_t i = 0; i < fields.size(); ++i) lines[7] += (i ? "\t" : "") + fields[i];
  std::string bad;
  for (const auto& l : lines) bad += l + "\n";
  testing::write_bytes(dir.file("bad.tsv"), bad);

  const std::string before = file_bytes(dir.file("a.sqlite"));
  CliResult r = run_cli(dir, "db import bad.tsv --db a.sqlite");
  EXPECT_EQ(r.rc, 2);
  expect_error_line(r, "bad.tsv:8: column 'median_us': 'fast' is not a number");
  EXPECT_EQ(file_bytes(dir.file("a.sqlite")), before);
  r = run_cli(dir, "db import bad.tsv --db fresh.sqlite");
  EXPECT_EQ(r.rc, 2);
  EXPECT_FALSE(std::filesystem::exists(dir.file("fresh.sqlite")));  // checked before creating
  r = run_cli(dir, "db import nothere.tsv --db a.sqlite");
  EXPECT_EQ(r.rc, 1);
  expect_error_line(r, "nothere.tsv");
}

TEST(CliTest, ExportImportMergeInfoAndBestWork) {
  ScratchDir dir;
  make_db(dir.file("a.sqlite"));
  CliResult r = run_cli(dir, "db export --db a.sqlite -o a.tsv");
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string exported = file_bytes(dir.file("a.tsv"));
  EXPECT_TRUE(starts_with(exported, "# gqaforge-db-export v2\n"));

  r = run_cli(dir, "db import a.tsv --db b.sqlite");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("4 measurements added"), std::string::npos) << r.out;
  r = run_cli(dir, "db export --db b.sqlite");  // to stdout
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, exported);

  r = run_cli(dir, "db merge all.sqlite a.sqlite b.sqlite a.sqlite");
  ASSERT_EQ(r.rc, 0) << r.err;
  r = run_cli(dir, "db export",
              "GQAFORGE_DB=all.sqlite");  // the default path comes from the environment
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, exported);

  r = run_cli(dir, "db info --db all.sqlite --check");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("schema version  2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("by status     ok 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("by family     decode 3, prefill 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("integrity       ok"), std::string::npos) << r.out;

  r = run_cli(dir, "db best --db all.sqlite --family decode --heads 32:8 --head-dim 128");
  ASSERT_EQ(r.rc, 0) << r.err;
  std::vector<std::string> lines = split(r.out, '\n');
  ASSERT_EQ(lines.size(), 3u) << r.out;  // header, one problem, final newline
  EXPECT_TRUE(starts_with(lines[0], "problem")) << r.out;
  EXPECT_NE(lines[1].find("decode 32:8 d128 bf16 b4 q1 kv4k"), std::string::npos) << r.out;
  EXPECT_NE(lines[1].find("splits=k2"), std::string::npos) << r.out;  // the fastest, 8 us
  EXPECT_NE(lines[1].find("8.00"), std::string::npos) << r.out;
  EXPECT_NE(lines[1].find("3.250 TB/s"), std::string::npos) << r.out;
  r = run_cli(dir, "db best --db all.sqlite --heads 64:8");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("no ok measurements match"), std::string::npos) << r.out;

  r = run_cli(dir, "db export --db a.sqlite -o no/such/dir/x.tsv");
  EXPECT_EQ(r.rc, 1);
  expect_error_line(r, "no/such/dir/x.tsv");
}

}  // namespace
}  // namespace gqaforge
