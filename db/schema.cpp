// Schema DDL, file checks and forward migrations of the measurement database.
//
// Versions (PRAGMA user_version):
//   1  environments, tune_runs, measurements; one row per (env_key, problem, kernel_key).
//   2  at most one is_best row per (env_key, problem), enforced by a partial unique index
//      (older files are normalised first: the latest-measured best row keeps the mark), and an
//      index for shape filters.
//   3  claims: the variants tuners writing the same file are measuring right now, so that
//      concurrent tuners share a sweep instead of repeating it (Database::claim).
// To add version 4: write `migrate_to_v4` and append it to kMigrations. Nothing else changes.
#include "db/schema.h"

#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace gqaforge::schema {
namespace {

Status migrate_to_v1(sql::Connection& conn) {
  return conn.exec(R"sql(
    CREATE TABLE environments (
      id               INTEGER PRIMARY KEY,
      key              TEXT NOT NULL UNIQUE,      -- Environment::key()
      gpu_name         TEXT NOT NULL,
      gpu_uuid         TEXT NOT NULL,
      sm_count         INTEGER NOT NULL,
      cc_major         INTEGER NOT NULL,
      cc_minor         INTEGER NOT NULL,
      sm_clock_mhz     INTEGER NOT NULL,
      mem_clock_mhz    INTEGER NOT NULL,
      memory_bytes     INTEGER NOT NULL,
      driver_version   INTEGER NOT NULL,
      nvrtc_version    TEXT NOT NULL,
      codegen_version  INTEGER NOT NULL,
      gqaforge_commit  TEXT NOT NULL,
      build_type       TEXT NOT NULL,
      host             TEXT NOT NULL
    );
    CREATE TABLE tune_runs (
      id            INTEGER PRIMARY KEY,
      uid           TEXT NOT NULL UNIQUE,         -- random; identifies the run across files
      env_key       TEXT NOT NULL,
      command_line  TEXT NOT NULL,
      strategy      TEXT NOT NULL,
      started_at    TEXT NOT NULL,                -- ISO-8601 UTC
      finished_at   TEXT NOT NULL DEFAULT ''      -- '' while running or if interrupted
    );
    CREATE TABLE measurements (
      id            INTEGER PRIMARY KEY,
      env_key       TEXT NOT NULL,
      problem       TEXT NOT NULL,                -- ProblemRecord::canonical()
      family        TEXT NOT NULL,
      n_q_heads     INTEGER NOT NULL,
      n_kv_heads    INTEGER NOT NULL,
      head_dim      INTEGER NOT NULL,
      dtype         TEXT NOT NULL,
      causal        INTEGER NOT NULL,
      batch         INTEGER NOT NULL,
      q_len         INTEGER NOT NULL,
      kv_len        INTEGER NOT NULL,
      gemm_m        INTEGER NOT NULL,
      gemm_n        INTEGER NOT NULL,
      gemm_k        INTEGER NOT NULL,
      kernel_key    TEXT NOT NULL,
      config        TEXT NOT NULL,
      status        TEXT NOT NULL,                -- measure_status_name()
      message       TEXT NOT NULL,
      median_us     REAL,                         -- NULL stores NaN
      min_us        REAL,
      stddev_us     REAL,
      repetitions   INTEGER NOT NULL,
      max_error     REAL,
      error_bound   REAL,
      tflops        REAL,
      tbps          REAL,
      compile_ms    REAL,
      registers     INTEGER NOT NULL,
      shared_bytes  INTEGER NOT NULL,
      spill_bytes   INTEGER NOT NULL,
      is_best       INTEGER NOT NULL DEFAULT 0,
      measured_at   TEXT NOT NULL,                -- ISO-8601 UTC
      run_id        INTEGER REFERENCES tune_runs(id),
      UNIQUE (env_key, problem, kernel_key)
    );
    CREATE INDEX measurements_by_run ON measurements(run_id);
  )sql");
}

Status migrate_to_v2(sql::Connection& conn) {
  return conn.exec(R"sql(
    UPDATE measurements SET is_best = 0
     WHERE is_best = 1 AND EXISTS (
       SELECT 1 FROM measurements o
        WHERE o.is_best = 1 AND o.env_key = measurements.env_key
          AND o.problem = measurements.problem AND o.id <> measurements.id
          AND (o.measured_at > measurements.measured_at
               OR (o.measured_at = measurements.measured_at
                   AND o.kernel_key < measurements.kernel_key)));
    CREATE UNIQUE INDEX measurements_one_best ON measurements(env_key, problem) WHERE is_best = 1;
    CREATE INDEX measurements_by_shape
        ON measurements(family, n_q_heads, n_kv_heads, head_dim, env_key);
  )sql");
}

Status migrate_to_v3(sql::Connection& conn) {
  return conn.exec(R"sql(
    CREATE TABLE claims (
      env_key     TEXT NOT NULL,
      problem     TEXT NOT NULL,
      kernel_key  TEXT NOT NULL,
      owner       TEXT NOT NULL,                  -- one Database connection: host:pid:random
      host        TEXT NOT NULL,
      pid         INTEGER NOT NULL,
      claimed_at  REAL NOT NULL,                  -- seconds since the epoch
      PRIMARY KEY (env_key, problem, kernel_key)
    );
  )sql");
}

using MigrationStep = Status (*)(sql::Connection&);
// kMigrations[i] upgrades a database from version i to version i + 1.
constexpr std::array<MigrationStep, 3> kMigrations = {migrate_to_v1, migrate_to_v2, migrate_to_v3};

constexpr const char* kRequiredTables[] = {"environments", "tune_runs", "measurements"};

uint32_t read_be(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

int schema_version() {
  return static_cast<int>(kMigrations.size());
}

Status check_file(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return not_found("database '{}' does not exist: {}", path, std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode))
    return invalid_argument("database '{}' is a directory, not a file", path);
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size == 0) return ok_status();
  std::ifstream in(path, std::ios::binary);
  if (!in) return unavailable("cannot read database '{}': {}", path, std::strerror(errno));
  std::array<unsigned char, 100> header{};
  in.read(reinterpret_cast<char*>(header.data()), header.size());
  const auto got = static_cast<size_t>(in.gcount());
  static constexpr char kMagic[] = "SQLite format 3";  // followed by a NUL byte
  if (got < sizeof(kMagic) || std::memcmp(header.data(), kMagic, sizeof(kMagic)) != 0) {
    return invalid_argument(
        "'{}' is not a gqaforge database: it is not an SQLite file "
        "(no 'SQLite format 3' header)",
        path);
  }
  if (got < header.size()) {
    return data_loss(
        "database '{}' is truncated: {} bytes, shorter than the 100-byte SQLite header", path,
        size);
  }
  uint32_t page_size = read_be(&header[16], 2);
  if (page_size == 1) page_size = 65536;
  if (page_size < 512 || (page_size & (page_size - 1)) != 0) {
    return data_loss("database '{}' is corrupt: page size {} in its header is invalid", path,
                     page_size);
  }
  if (size % page_size != 0) {
    return data_loss("database '{}' is truncated: {} bytes is not a whole number of {}-byte pages",
                     path, size, page_size);
  }
  // The in-header page count is valid only when "version-valid-for" equals the change counter.
  const uint32_t change_counter = read_be(&header[24], 4);
  const uint32_t page_count = read_be(&header[28], 4);
  const uint32_t valid_for = read_be(&header[92], 4);
  if (valid_for == change_counter && page_count > 0 &&
      size < static_cast<uint64_t>(page_count) * page_size) {
    return data_loss(
        "database '{}' is truncated: {} bytes, but its header says {} pages of {} bytes", path,
        size, page_count, page_size);
  }
  return ok_status();
}

Result<int> inspect(sql::Connection& conn) {
  const std::string& path = conn.path();
  // The first read of page 1: a damaged or foreign file fails here.
  auto tables = conn.query_int("SELECT count(*) FROM sqlite_master");
  if (!tables.ok()) {
    return Status(tables.status().code(), fmt::format("'{}' is not a usable gqaforge database: {}",
                                                      path, tables.status().message()));
  }
  GQF_ASSIGN_OR_RETURN(int64_t app_id, conn.query_int("PRAGMA application_id"));
  GQF_ASSIGN_OR_RETURN(int64_t version, conn.query_int("PRAGMA user_version"));
  if (app_id != 0 && app_id != kApplicationId) {
    return invalid_argument(
        "'{}' is an SQLite database of another application (application_id {:#x}), "
        "not a gqaforge database",
        path, app_id);
  }
  if (version == 0) {
    if (*tables != 0) {
      return invalid_argument(
          "'{}' is an SQLite database of another application "
          "(it has tables but no gqaforge schema version)",
          path);
    }
    return 0;
  }
  if (app_id != kApplicationId) {
    return invalid_argument(
        "'{}' is not a gqaforge database (user_version {} but application_id {:#x})", path, version,
        app_id);
  }
  if (version > schema_version()) {
    return failed_precondition(
        "'{}' has schema version {}, newer than the version {} this gqaforge "
        "understands; use a newer gqaforge",
        path, version, schema_version());
  }
  if (version < 0) return data_loss("'{}' has an invalid schema version {}", path, version);
  for (const char* table : kRequiredTables) {
    GQF_ASSIGN_OR_RETURN(
        sql::Statement st,
        conn.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"));
    st.bind(1, table);
    GQF_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row || st.column_int(0) != 1) {
      return data_loss("'{}' claims gqaforge schema version {} but has no '{}' table", path,
                       version, table);
    }
  }
  return static_cast<int>(version);
}

Status migrate(sql::Connection& conn) {
  GQF_ASSIGN_OR_RETURN(int before, inspect(conn));
  if (before == schema_version()) return ok_status();
  GQF_ASSIGN_OR_RETURN(sql::Transaction tx,
                       sql::Transaction::begin(conn, sql::Transaction::Kind::kImmediate));
  // Another process may have migrated between the check above and taking the write lock.
  GQF_ASSIGN_OR_RETURN(int version, inspect(conn));
  if (version == 0) {
    GQF_RETURN_IF_ERROR(conn.exec(fmt::format("PRAGMA application_id = {}", kApplicationId)));
  }
  for (int v = version; v < schema_version(); ++v) {
    GQF_RETURN_IF_ERROR_CTX(
        kMigrations[static_cast<size_t>(v)](conn),
        fmt::format("migrating '{}' from schema version {} to {}", conn.path(), v, v + 1));
  }
  GQF_RETURN_IF_ERROR(conn.exec(fmt::format("PRAGMA user_version = {}", schema_version())));
  return tx.commit();
}

}  // namespace gqaforge::schema
