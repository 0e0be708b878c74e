// Tests of schema creation, migration from an older hand-made file, and refusal of files that
// are not usable gqaforge databases (left byte-identical).
#include "db/schema.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "db/database.h"
#include "db/sqlite.h"
#include "tests/db/test_util.h"

namespace gqaforge::db {
namespace {

using testing::file_bytes;
using testing::ScratchDir;

// Runs raw SQL on a file without going through Database (to hand-make or doctor files).
void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string message = err != nullptr ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

int64_t raw_int(const std::string& path, const std::string& sql) {
  auto conn = sql::Connection::open(path, SQLITE_OPEN_READONLY);
  EXPECT_TRUE(conn.ok());
  auto v = conn->query_int(sql);
  EXPECT_TRUE(v.ok()) << v.status().to_string();
  return v.ok() ? *v : -1;
}

// A database file at the current version with one run and one measurement, closed again.
void make_current_db(const std::string& path) {
  auto db = Database::open(path);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  int64_t run = (*db)->begin_run(testing::sample_env(), {});
  auto m = testing::sample_measurement(testing::sample_env().key(), testing::decode_problem(), "k1", 10.0);
  m.run_id = run;
  (*db)->record(m);
  (*db)->end_run(run);
  ASSERT_TRUE((*db)->sink_status().ok()) << (*db)->sink_status().to_string();
}

// Schema version 1 as gqaforge wrote it, typed out by hand (not taken from schema.cpp).
constexpr const char* kV1Schema = R"sql(
  PRAGMA application_id = 1196508737;
  CREATE TABLE environments (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, gpu_name TEXT NOT NULL,
    gpu_uuid TEXT NOT NULL, sm_count INTEGER NOT NULL, cc_major INTEGER NOT NULL, cc_minor INTEGER NOT NULL,
    sm_clock_mhz INTEGER NOT NULL, mem_clock_mhz INTEGER NOT NULL, memory_bytes INTEGER NOT NULL,
    driver_version INTEGER NOT NULL, nvrtc_version TEXT NOT NULL, codegen_version INTEGER NOT NULL,
    gqaforge_commit TEXT NOT NULL, build_type TEXT NOT NULL, host TEXT NOT NULL);
  CREATE TABLE tune_runs (id INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, env_key TEXT NOT NULL,
    command_line TEXT NOT NULL, strategy TEXT NOT NULL, started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL DEFAULT '');
  CREATE TABLE measurements (id INTEGER PRIMARY KEY, env_key TEXT NOT NULL, problem TEXT NOT NULL,
    family TEXT NOT NULL, n_q_heads INTEGER NOT NULL, n_kv_heads INTEGER NOT NULL, head_dim INTEGER NOT NULL,
    dtype TEXT NOT NULL, causal INTEGER NOT NULL, batch INTEGER NOT NULL, q_len INTEGER NOT NULL,
    kv_len INTEGER NOT NULL, gemm_m INTEGER NOT NULL, gemm_n INTEGER NOT NULL, gemm_k INTEGER NOT NULL,
    kernel_key TEXT NOT NULL, config TEXT NOT NULL, status TEXT NOT NULL, message TEXT NOT NULL, median_us REAL,
    min_us REAL, stddev_us REAL, repetitions INTEGER NOT NULL, max_error REAL, error_bound REAL, tflops REAL,
    tbps REAL, compile_ms REAL, registers INTEGER NOT NULL, shared_bytes INTEGER NOT NULL,
    spill_bytes INTEGER NOT NULL, is_best INTEGER NOT NULL DEFAULT 0, measured_at TEXT NOT NULL,
    run_id INTEGER REFERENCES tune_runs(id), UNIQUE (env_key, problem, kernel_key));
  CREATE INDEX measurements_by_run ON measurements(run_id);
  PRAGMA user_version = 1;
)sql";

// Two rows of one problem, both marked best (version 1 did not prevent that).
std::string v1_rows(const std::string& problem) {
  auto row = [&](const char* key, double median, const char* at) {
    return fmt::format(
        "INSERT INTO measurements VALUES (NULL, 'env1', '{}', 'decode', 32, 8, 128, 'bf16', 0, 4, "
        "1, "
        "4096, 0, 0, 0, '{}', 'cfg', 'ok', '', {}, {}, 0.1, 50, 0.001, 0.01, 0, 3.0, 400, 128, "
        "49152, 0, 1, '{}', 1);",
        problem, key, median, median, at);
  };
  return "INSERT INTO tune_runs VALUES (1, 'uid1', 'env1', 'gqaforge tune', 'grid', "
         "'2025-01-01T00:00:00Z', '');" +
         row("old_best", 9.0, "2025-01-01T00:00:00Z") + row("new_best", 11.0, "2025-02-01T00:00:00Z");
}

TEST(SchemaTest, CreatesTheCurrentSchemaInMemory) {
  auto db = Database::open(":memory:");
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  auto info = (*db)->info();
  ASSERT_TRUE(info.ok()) << info.status().to_string();
  EXPECT_EQ(info->schema_version, schema::schema_version());
  EXPECT_EQ(info->schema_version, 4);
  EXPECT_EQ(info->measurements, 0);
  EXPECT_EQ(info->journal_mode, "memory");
}

TEST(SchemaTest, FileDatabaseUsesWalAndMarksItsApplicationId) {
  ScratchDir dir;
  const std::string path = dir.file("a.sqlite");
  make_current_db(path);
  EXPECT_EQ(raw_int(path, "PRAGMA user_version"), schema::schema_version());
  EXPECT_EQ(raw_int(path, "PRAGMA application_id"), schema::kApplicationId);
  auto db = Database::open(path, OpenMode::kReadOnly);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  EXPECT_EQ((*db)->info()->journal_mode, "wal");
  EXPECT_EQ(*(*db)->integrity_check(), "ok");
  // Reopening read-write is a no-op for an up-to-date file.
  auto again = Database::open(path);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ((*again)->info()->measurements, 1);
}

TEST(SchemaTest, MigratesAHandMadeVersion1File) {
  ScratchDir dir;
  const std::string path = dir.file("v1.sqlite");
  const std::string problem = testing::decode_problem().canonical();
  raw_exec(path, kV1Schema + v1_rows(problem));
  ASSERT_EQ(raw_int(path, "PRAGMA user_version"), 1);

  auto db = Database::open(path);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  EXPECT_EQ((*db)->info()->schema_version, 4);
  auto rows = (*db)->measurements({});
  ASSERT_TRUE(rows.ok()) << rows.status().to_string();
  ASSERT_EQ(rows->size(), 2u);  // no row lost
  // Version 2 keeps one best mark per problem: the one measured latest.
  for (const MeasurementRecord& m : *rows) EXPECT_EQ(m.is_best, m.kernel_key == "new_best") << m.kernel_key;
  auto best = (*db)->best({});
  ASSERT_TRUE(best.ok());
  ASSERT_EQ(best->size(), 1u);
  EXPECT_EQ((*best)[0].kernel_key, "new_best");  // marked best beats the faster unmarked row
  auto runs = (*db)->runs();
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].command_line, "gqaforge tune");
  db->reset();
  // The new rule is enforced by the schema itself now.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  int rc = sqlite3_exec(raw, "UPDATE measurements SET is_best = 1", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  EXPECT_EQ(rc, SQLITE_CONSTRAINT);
}

// Opening `path` in every mode fails with `code`, a message naming the path and containing
// `reason`, and leaves the file byte-identical with no side files.
void expect_refused(const std::string& path, StatusCode code, const std::string& reason) {
  const std::string before = file_bytes(path);
  for (OpenMode mode : {OpenMode::kReadWrite, OpenMode::kExisting, OpenMode::kReadOnly}) {
    auto db = Database::open(path, mode);
    ASSERT_FALSE(db.ok()) << "mode " << static_cast<int>(mode);
    EXPECT_EQ(db.status().code(), code) << db.status().to_string();
    EXPECT_NE(db.status().message().find(path), std::string::npos) << db.status().message();
    EXPECT_NE(db.status().message().find(reason), std::string::npos) << db.status().message();
  }
  EXPECT_EQ(file_bytes(path), before) << path << " was modified";
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(path + "-shm"));
  EXPECT_FALSE(std::filesystem::exists(path + "-journal"));
}

TEST(SchemaTest, RefusesANewerSchemaVersionAndLeavesTheFileUntouched) {
  ScratchDir dir;
  const std::string path = dir.file("newer.sqlite");
  make_current_db(path);
  raw_exec(path, "PRAGMA journal_mode = DELETE; PRAGMA user_version = 99;");
  expect_refused(path, StatusCode::kFailedPrecondition, "schema version 99, newer than the version 4");
}

TEST(SchemaTest, RefusesANewerWalModeFile) {
  ScratchDir dir;
  const std::string path = dir.file("newer_wal.sqlite");
  make_current_db(path);
  raw_exec(path, "PRAGMA user_version = 5;");  // stays in WAL mode
  const std::string before = file_bytes(path);
  auto db = Database::open(path);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.status().message().find("schema version 5"), std::string::npos) << db.status().message();
  EXPECT_EQ(file_bytes(path), before);
}

TEST(SchemaTest, RefusesATextFile) {
  ScratchDir dir;
  const std::string path = dir.file("notes.txt");
  testing::write_bytes(path, "these are not measurements\nsecond line\n");
  expect_refused(path, StatusCode::kInvalidArgument, "not an SQLite file");
}

TEST(SchemaTest, RefusesTruncatedFiles) {
  ScratchDir dir;
  const std::string good = dir.file("good.sqlite");
  make_current_db(good);
  const std::string bytes = file_bytes(good);
  ASSERT_GE(bytes.size(), 8192u);
  ASSERT_EQ(bytes.size() % 4096, 0u);
  struct Case {
    size_t size;
    std::string reason;
  };
  for (const Case& c :
       {Case{50, "shorter than the 100-byte SQLite header"}, Case{1000, "not a whole number of 4096-byte pages"},
        Case{bytes.size() - 4096, "but its header says"}}) {
    const std::string path = dir.file(fmt::format("cut_{}.sqlite", c.size));
    testing::write_bytes(path, bytes.substr(0, c.size));
    SCOPED_TRACE(c.size);
    expect_refused(path, StatusCode::kDataLoss, c.reason);
  }
}

TEST(SchemaTest, RefusesACorruptHeader) {
  ScratchDir dir;
  const std::string path = dir.file("corrupt.sqlite");
  make_current_db(path);
  std::string bytes = file_bytes(path);
  bytes[16] = 0x03;  // page size 0x03?? is not a power of two
  testing::write_bytes(path, bytes);
  expect_refused(path, StatusCode::kDataLoss, "page size");
}

TEST(SchemaTest, RefusesAnotherApplicationsSqliteDatabase) {
  ScratchDir dir;
  const std::string path = dir.file("other.sqlite");
  raw_exec(path, "CREATE TABLE contacts (name TEXT); INSERT INTO contacts VALUES ('ada');");
  expect_refused(path, StatusCode::kInvalidArgument, "another application");
  const std::string tagged = dir.file("tagged.sqlite");
  raw_exec(tagged, "PRAGMA application_id = 1234; PRAGMA user_version = 1;");
  expect_refused(tagged, StatusCode::kInvalidArgument, "application_id 0x4d2");
}

TEST(SchemaTest, RefusesAGqaforgeFileWithAMissingTable) {
  ScratchDir dir;
  const std::string path = dir.file("broken.sqlite");
  make_current_db(path);
  raw_exec(path, "PRAGMA journal_mode = DELETE; DROP TABLE tune_runs;");
  expect_refused(path, StatusCode::kDataLoss, "has no 'tune_runs' table");
}

TEST(SchemaTest, ReadOnlyUseLeavesNoSideFiles) {
  ScratchDir dir;
  const std::string path = dir.file("a.sqlite");
  make_current_db(path);
  ASSERT_FALSE(std::filesystem::exists(path + "-wal"));
  const std::string before = file_bytes(path);
  {
    auto db = Database::open(path, OpenMode::kReadOnly);
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    EXPECT_EQ((*db)->info()->measurements, 1);
    EXPECT_FALSE((*db)->add_measurement(testing::sample_measurement("e", testing::decode_problem(), "k", 1)).ok());
  }
  EXPECT_FALSE(std::filesystem::exists(path + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(path + "-shm"));
  EXPECT_EQ(file_bytes(path), before);
}

TEST(SchemaTest, ReadOnlyAndExistingModesNeverCreateFiles) {
  ScratchDir dir;
  const std::string path = dir.file("missing.sqlite");
  for (OpenMode mode : {OpenMode::kReadOnly, OpenMode::kExisting}) {
    auto db = Database::open(path, mode);
    ASSERT_FALSE(db.ok());
    EXPECT_EQ(db.status().code(), StatusCode::kNotFound);
    EXPECT_NE(db.status().message().find(path), std::string::npos);
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
  auto created = Database::open(path, OpenMode::kReadWrite);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(SchemaTest, ReadOnlyRefusesAnOlderVersionWithoutMigrating) {
  ScratchDir dir;
  const std::string path = dir.file("v1.sqlite");
  raw_exec(path, kV1Schema + v1_rows(testing::decode_problem().canonical()));
  const std::string before = file_bytes(path);
  auto db = Database::open(path, OpenMode::kReadOnly);
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(db.status().message().find("gqaforge db migrate"), std::string::npos) << db.status().message();
  EXPECT_EQ(file_bytes(path), before);
}

TEST(SchemaTest, ReadOnlyDatabaseRefusesWrites) {
  ScratchDir dir;
  const std::string path = dir.file("ro.sqlite");
  make_current_db(path);
  auto db = Database::open(path, OpenMode::kReadOnly);
  ASSERT_TRUE(db.ok()) << db.status().to_string();
  auto m = testing::sample_measurement("e", testing::decode_problem(), "k2", 1.0);
  Status s = (*db)->add_measurement(m);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.to_string();
  EXPECT_EQ((*db)->info()->measurements, 1);
}

}  // namespace
}  // namespace gqaforge::db
