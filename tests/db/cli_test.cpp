// Tests of the `gqaforge db` subcommands through the built binary: exit status 2 for usage
// errors, 1 for failures, one clear error line, and data left intact on bad input.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "core/json.h"
#include "core/strings.h"
#include "db/export.h"
#include "db/schema.h"
#include "db/sqlite.h"
#include "tests/db/test_util.h"

namespace gqaforge::db {
namespace {

using testing::file_bytes;
using testing::ScratchDir;

struct CliResult {
  int rc = -1;
  std::string out;
  std::string err;
};

// Runs `prefix gqaforge <args>` in `cwd`, with its output in `out` (which must be writable by
// whoever `prefix` runs it as).
CliResult run_cli_in(const std::string& cwd, const ScratchDir& out, const std::string& prefix,
                     const std::string& args) {
  const std::string binary = GQAFORGE_BINARY_DIR "/tools/gqaforge";
  const std::string o = out.file("cli.stdout"), e = out.file("cli.stderr");
  const std::string command = fmt::format("cd {} && {} {} {} >{} 2>{}", cwd, prefix, binary, args, o, e);
  int status = std::system(command.c_str());
  CliResult r;
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = file_bytes(o);
  r.err = file_bytes(e);
  std::filesystem::remove(o);
  std::filesystem::remove(e);
  return r;
}

// Runs `gqaforge <args>` (args are shell words; the scratch paths need no quoting) in the
// scratch directory, with `env` (VAR=value words) in front.
CliResult run_cli(const ScratchDir& dir, const std::string& args, const std::string& env = "") {
  return run_cli_in(dir.path().string(), dir, env, args);
}

// A database file with `n` decode measurements of one run (written in one merge).
void make_big_db(const std::string& path, int n) {
  auto db = Database::open(path);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  const Environment env = testing::sample_env();
  DbContents c;
  c.environments.push_back({env.key(), env});
  RunEntry run;
  run.uid = "0123456789abcdef0123456789abcdef";
  run.run.env_key = env.key();
  run.run.command_line = "gqaforge tune --heads 32:8";
  run.run.strategy = "exhaustive";
  run.run.started_at = "2026-01-01T00:00:00Z";
  run.run.finished_at = "2026-01-01T01:00:00Z";
  c.runs.push_back(run);
  for (int i = 0; i < n; ++i) {
    c.measurements.push_back({run.uid, testing::sample_measurement(env.key(), testing::decode_problem(),
                                                                   fmt::format("k{:04}", i), 5.0 + i)});
  }
  ASSERT_TRUE((*db)->merge(std::span<const DbContents>(&c, 1)).ok());
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
    auto m = testing::sample_measurement(env.key(), testing::decode_problem(), fmt::format("k{}", i), 10.0 - i);
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
      {"db info --db", "--db: 1 required FILE missing"},
      {"db best --db a.sqlite --heads 32", "--heads: '32' is not Q:KV"},
      {"db best --db a.sqlite --heads 32:0", "--heads: '32:0'"},
      {"db best --db a.sqlite --head-dim -4", "--head-dim: '-4' must be an integer in 1..1048576"},
      {"db best --db a.sqlite --batch 2q", "--batch: '2q' must be a positive count"},
      {"db best --db a.sqlite --head-dim 12x", "--head-dim: '12x' must be an integer in 1..1048576"},
      {"db best --db a.sqlite --family decod",
       "--family: decod not in {decode,prefill,reference,cpu_decode,cpu_prefill,linear}"},
      {"db best --db a.sqlite --dtype fp8", "--dtype: fp8 not in {bf16,fp16}"},
      {"db best --db a.sqlite --kv-len 0", "--kv-len: '0'"},
      {"db export --db a.sqlite -o", "--output: 1 required FILE missing"},
      {"db import", "file is required"},
      {"db merge out.sqlite", "input is required"},
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
  EXPECT_NE(r.out.find(fmt::format("schema version  {}", schema::schema_version())), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("by status     ok 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("by family     decode 3, prefill 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("integrity       ok"), std::string::npos) << r.out;

  r = run_cli(dir, "db best --db all.sqlite --family decode --heads 32:8 --head-dim 128 --wide");
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

TEST(CliTest, ImportRefusesAnExportCutShortAndChecksItsValues) {
  ScratchDir dir;
  make_big_db(dir.file("a.sqlite"), 160);
  CliResult r = run_cli(dir, "db export --db a.sqlite -o a.tsv");
  ASSERT_EQ(r.rc, 0) << r.err;
  const std::string text = file_bytes(dir.file("a.tsv"));
  std::vector<std::string> lines = split(text, '\n');
  ASSERT_EQ(lines.size(), 1 + 3 + 1 + 1 + 160 + 1 + 1u);  // header, sections, rows, end, ""
  // Cut at a line boundary after 105 of the 160 measurement rows, as a full disk or a killed
  // `db export > file` leaves it.
  std::string cut;
  for (size_t i = 0; i < 6 + 105; ++i) cut += lines[i] + "\n";
  testing::write_bytes(dir.file("cut.tsv"), cut);
  r = run_cli(dir, "db import cut.tsv --db b.sqlite");
  EXPECT_EQ(r.rc, 1) << r.out;
  expect_error_line(r, "cut.tsv: the export is incomplete");
  EXPECT_FALSE(std::filesystem::exists(dir.file("b.sqlite")));
  make_db(dir.file("b.sqlite"));
  const std::string before = file_bytes(dir.file("b.sqlite"));
  r = run_cli(dir, "db import cut.tsv --db b.sqlite");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(file_bytes(dir.file("b.sqlite")), before);

  // A row that was edited: the checksum no longer matches.
  std::string edited = text;
  const size_t at = edited.find("\t5\t");  // one value of the first measurement row
  ASSERT_NE(at, std::string::npos);
  edited.replace(at, 3, "\t6\t");
  testing::write_bytes(dir.file("edited.tsv"), edited);
  r = run_cli(dir, "db import edited.tsv --db b.sqlite");
  EXPECT_EQ(r.rc, 1);
  expect_error_line(r, "edited.tsv:167: checksum mismatch");
  EXPECT_EQ(file_bytes(dir.file("b.sqlite")), before);

  // A v1 export (no end line) is read, with a note that it cannot be checked.
  std::string v1;
  for (const std::string& line : testing::as_v1_lines(lines)) v1 += line + "\n";
  testing::write_bytes(dir.file("v1.tsv"), v1);
  r = run_cli(dir, "db import v1.tsv --db v1.sqlite");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("v1.tsv is a v1 export, which has no end line"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("160 measurements added"), std::string::npos) << r.out;

  // Values an ok row cannot have: a usage-level error (2) naming file, line, column, value.
  struct Case {
    size_t field;
    std::string value, expected;
  };
  for (const Case& c :
       {Case{17, "nan", "column 'median_us': nan on an ok row"},
        Case{17, "inf", "column 'median_us': inf on an ok row"}, Case{17, "-1", "column 'median_us': -1 on an ok row"},
        Case{20, "-3", "column 'repetitions': -3 is negative"},
        Case{16, "a\\0b", "column 'message': 'a\\0b' contains a NUL byte"}}) {
    std::vector<std::string> fields = split(lines[6], '\t');
    fields[c.field] = c.value;
    std::string row;
    for (size_t i = 0; i < fields.size(); ++i) row += (i ? "\t" : "") + fields[i];
    std::string bad;
    for (size_t i = 0; i + 1 < lines.size(); ++i) bad += (i == 6 ? row : lines[i]) + "\n";
    testing::write_bytes(dir.file("bad.tsv"), bad);
    r = run_cli(dir, "db import bad.tsv --db b.sqlite");
    EXPECT_EQ(r.rc, 2) << c.value;
    expect_error_line(r, "bad.tsv:7: " + c.expected);
    EXPECT_EQ(file_bytes(dir.file("b.sqlite")), before);
  }
}

TEST(CliTest, ReMergingReportsUnchangedRows) {
  ScratchDir dir;
  make_big_db(dir.file("a.sqlite"), 50);
  CliResult r = run_cli(dir, "db merge all.sqlite a.sqlite");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("50 measurements added; 0 measurements updated, 0 unchanged"), std::string::npos) << r.out;
  r = run_cli(dir, "db merge all.sqlite a.sqlite");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("0 measurements added; 0 measurements updated, 50 unchanged, 0 skipped"), std::string::npos)
      << r.out;
}

TEST(CliTest, RefusalsLeaveTheFileItsWalAndShmByteIdentical) {
  ScratchDir dir;
  make_db(dir.file("good.sqlite"));
  ASSERT_EQ(run_cli(dir, "db export --db good.sqlite -o good.tsv").rc, 0);
  const std::string newer = dir.file("newer.sqlite");
  make_db(newer);
  testing::leave_pending_wal(newer, [](Database& db) {
    sqlite3* raw = nullptr;
    if (sqlite3_open(db.path().c_str(), &raw) != SQLITE_OK) return false;
    return sqlite3_exec(raw, fmt::format("PRAGMA user_version = {}", schema::schema_version() + 1).c_str(), nullptr,
                        nullptr, nullptr) == SQLITE_OK;
  });
  const auto before = testing::side_file_bytes(newer);
  for (const char* args :
       {"db info --db newer.sqlite", "db best --db newer.sqlite", "db export --db newer.sqlite",
        "db import good.tsv --db newer.sqlite", "db merge newer.sqlite good.sqlite", "db migrate --db newer.sqlite",
        "tune --backend synthetic --phase decode --heads 8:1 --db newer.sqlite --quiet"}) {
    CliResult r = run_cli(dir, args);
    EXPECT_EQ(r.rc, 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(fmt::format("schema version {}, newer", schema::schema_version() + 1)), std::string::npos)
        << args << "\n"
        << r.err;
    EXPECT_EQ(testing::side_file_bytes(newer), before) << args;
  }
}

TEST(CliTest, WritersRefuseAFileWithAFlippedByteInARow) {
  ScratchDir dir;
  make_big_db(dir.file("flipped.sqlite"), 30);
  make_db(dir.file("good.sqlite"));
  ASSERT_EQ(run_cli(dir, "db export --db good.sqlite -o good.tsv").rc, 0);
  std::string bytes = file_bytes(dir.file("flipped.sqlite"));
  const std::string row = "k0012block_n=64,warps=4,splits=k0012";  // kernel_key, then config
  const size_t at = bytes.find(row);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 4] ^= 0x20;
  testing::write_bytes(dir.file("flipped.sqlite"), bytes);
  for (const char* args : {"db merge flipped.sqlite good.sqlite", "db import good.tsv --db flipped.sqlite",
                           "db migrate --db flipped.sqlite",
                           "tune --backend synthetic --phase decode --heads 8:1 --db flipped.sqlite --quiet"}) {
    CliResult r = run_cli(dir, args);
    EXPECT_EQ(r.rc, 1) << args << "\n" << r.out;
    expect_error_line(r,
                      "'flipped.sqlite' is damaged, refusing to write to it: SQLite's "
                      "integrity check says \"row");
    EXPECT_EQ(file_bytes(dir.file("flipped.sqlite")), bytes) << args;
  }
  CliResult r = run_cli(dir, "db info --db flipped.sqlite");  // reading is still allowed
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("measurements    30"), std::string::npos) << r.out;
  r = run_cli(dir, "db info --db flipped.sqlite --check");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("missing from index"), std::string::npos) << r.out;
}

// Read-only commands on files this process may not write: as root (CI), the CLI runs as
// nobody (setpriv), for whom the scratch directory and files are another user's and
// read-only; otherwise the directory is made read-only with chmod.
TEST(CliTest, ReadOnlyCommandsWorkInAReadOnlyDirectoryAndOnAnotherUsersFile) {
  ScratchDir data, out;
  const std::string binary = GQAFORGE_BINARY_DIR "/tools/gqaforge";
  std::string prefix;
  const bool root = geteuid() == 0;
  if (root) {
    prefix = "setpriv --reuid=65534 --regid=65534 --clear-groups";
    std::filesystem::permissions(out.path(), std::filesystem::perms::all);  // nobody writes here
    if (std::system(fmt::format("{} test -x {} 2>/dev/null", prefix, binary).c_str()) != 0) {
      GTEST_SKIP() << "running as root, but `" << prefix << "` cannot run " << binary
                   << " (no setpriv, or the build directory is not readable by uid 65534)";
    }
  }
  const std::string clean = data.file("clean.sqlite"), pending = data.file("pending.sqlite"),
                    orphan = data.file("orphan.sqlite"), live = data.file("live.sqlite");
  make_big_db(clean, 20);
  for (const std::string& p : {pending, orphan}) {
    make_big_db(p, 20);
    testing::leave_pending_wal(p, [](Database& db) {
      return db
          .add_measurement(
              testing::sample_measurement(testing::sample_env().key(), testing::decode_problem(), "from-the-wal", 1.0))
          .ok();
    });
  }
  std::filesystem::remove(orphan + "-shm");
  make_big_db(live, 20);
  auto writer = Database::open(live);  // holds the file open: its -shm is in use
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)
                  ->add_measurement(
                      testing::sample_measurement(testing::sample_env().key(), testing::decode_problem(), "live", 1.0))
                  .ok());
  ASSERT_TRUE(std::filesystem::exists(live + "-shm"));
  make_db(out.file("good.sqlite"));
  ASSERT_EQ(run_cli(out, "db export --db good.sqlite -o good.tsv").rc, 0);
  std::filesystem::permissions(out.file("good.tsv"), std::filesystem::perms::all);
  if (!root) {
    std::filesystem::permissions(data.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  }
  const std::string cwd = data.path().string();
  const auto names = testing::listing(data.path());
  std::map<std::string, std::map<std::string, std::string>> before;
  for (const std::string& p : {clean, pending, orphan}) before[p] = testing::side_file_bytes(p);

  for (const auto& [path, rows] : {std::pair<std::string, int>{clean, 20}, {pending, 21}, {orphan, 21}, {live, 21}}) {
    const std::string name = std::filesystem::path(path).filename().string();
    CliResult r = run_cli_in(cwd, out, prefix, "db info --db " + name);
    EXPECT_EQ(r.rc, 0) << name << ": " << r.err;
    EXPECT_NE(r.out.find(fmt::format("measurements    {}", rows)), std::string::npos) << name << ": " << r.out;
    r = run_cli_in(cwd, out, prefix, "db best --db " + name);
    EXPECT_EQ(r.rc, 0) << name << ": " << r.err;
    r = run_cli_in(cwd, out, prefix, "db export --db " + name);
    EXPECT_EQ(r.rc, 0) << name << ": " << r.err;
    EXPECT_NE(r.out.find(fmt::format(" measurements={} sha256=", rows)), std::string::npos) << name;
  }
  // Writers are refused with the reason, and change nothing.
  CliResult r = run_cli_in(cwd, out, prefix, "db import " + out.file("good.tsv") + " --db clean.sqlite");
  EXPECT_EQ(r.rc, 1) << r.out;
  EXPECT_NE(r.err.find("not writable"), std::string::npos) << r.err;

  if (!root) std::filesystem::permissions(data.path(), std::filesystem::perms::owner_all);
  writer->reset();
  for (const std::string& p : {clean, pending, orphan}) EXPECT_EQ(testing::side_file_bytes(p), before[p]) << p;
  std::set<std::string> after = testing::listing(data.path());
  after.erase("live.sqlite-wal");  // the writer's own files, removed when it closed
  after.erase("live.sqlite-shm");
  std::set<std::string> expected = names;
  expected.erase("live.sqlite-wal");
  expected.erase("live.sqlite-shm");
  EXPECT_EQ(after, expected);
}

TEST(CliTest, InfoAndBestSpeakJsonAndFitTheWidth) {
  ScratchDir dir;
  make_db(dir.file("a.sqlite"));
  CliResult r = run_cli(dir, "db info --db a.sqlite --json --check");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto info = parse_json(r.out);
  ASSERT_TRUE(info.ok()) << r.out;
  EXPECT_EQ(info->at("schema_version").get<double>(), 1) << "the document's version, not the file's";
  EXPECT_EQ(info->at("command").get<std::string>(), "db info");
  EXPECT_EQ(info->at("database_schema_version").get<double>(), schema::schema_version());
  EXPECT_EQ(info->at("measurements").get<double>(), 4);
  EXPECT_EQ(info->at("by_status").at("ok").get<double>(), 4);
  EXPECT_EQ(info->at("integrity").get<std::string>(), "ok");
  ASSERT_TRUE(info->at("environments").is_array());
  for (const Json& e : info->at("environments")) {
    EXPECT_TRUE(e.at("key").is_string());
    EXPECT_TRUE(e.at("gpu_name").is_string());
  }

  r = run_cli(dir, "db best --db a.sqlite --json");
  ASSERT_EQ(r.rc, 0) << r.err;
  auto best = parse_json(r.out);
  ASSERT_TRUE(best.ok()) << r.out;
  EXPECT_EQ(best->at("command").get<std::string>(), "db best");
  ASSERT_TRUE(best->at("rows").is_array());
  EXPECT_FALSE(best->at("rows").empty());
  for (const Json& row : best->at("rows")) {
    EXPECT_TRUE(row.at("problem").is_string());
    EXPECT_TRUE(row.at("config").is_string());
    EXPECT_GT(row.at("median_us").get<double>(), 0);
    EXPECT_TRUE(row.at("marked_best").is_boolean());
  }

  r = run_cli(dir, "db best --db a.sqlite");
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const std::string& line : split(r.out, '\n')) EXPECT_LE(display_width(line), 120u) << line;
}

TEST(CliTest, ExportTakesItsOutputAsOorOutputAndAnEmptyFileIsNoDatabase) {
  ScratchDir dir;
  make_db(dir.file("a.sqlite"));
  for (const char* flag : {"-o", "--o", "--output"}) {
    const std::string out = std::string("x") + (flag[1] == '-' ? flag + 2 : "short") + ".tsv";
    CliResult r = run_cli(dir, fmt::format("db export --db a.sqlite {} {}", flag, out));
    EXPECT_EQ(r.rc, 0) << flag << ": " << r.err;
    EXPECT_TRUE(starts_with(file_bytes(dir.file(out)), "# gqaforge-db-export")) << flag;
  }
  std::ofstream(dir.file("empty.sqlite")).close();
  for (const char* cmd : {"db info", "db best", "db export"}) {
    CliResult r = run_cli(dir, fmt::format("{} --db empty.sqlite", cmd));
    EXPECT_EQ(r.rc, 2) << cmd << ": " << r.err;
    expect_error_line(r, "is empty: not a gqaforge database");
    EXPECT_EQ(r.err.find("migrate"), std::string::npos) << "never advise turning the file into a database";
    EXPECT_EQ(file_bytes(dir.file("empty.sqlite")), "");
  }
}

}  // namespace
}  // namespace gqaforge::db
