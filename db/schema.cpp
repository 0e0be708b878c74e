// Schema DDL, file checks and forward migrations of the measurement database.
//
// Versions (PRAGMA user_version):
//   1  environments, tune_runs, measurements; one row per (env_key, problem, kernel_key).
//   2  at most one is_best row per (env_key, problem), enforced by a partial unique index
//      (older files are normalised first: the latest-measured best row keeps the mark), and an
//      index for shape filters.
//   3  claims: the variants tuners writing the same file are measuring right now, so that
//      concurrent tuners share a sweep instead of repeating it (Database::claim).
//   4  environments.codegen_hash: the fingerprint of the kernel templates (part of the key of
//      environments that have one; '' for those recorded before).
// To add version 5: write `migrate_to_v5` and append it to kMigrations. Nothing else changes.
#include "db/schema.h"

#include <array>
#include <cstring>
#include <fstream>
#include <set>
#include <vector>

namespace gqaforge::db::schema {
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

Status migrate_to_v4(sql::Connection& conn) {
  return conn.exec("ALTER TABLE environments ADD COLUMN codegen_hash TEXT NOT NULL DEFAULT ''");
}

using MigrationStep = Status (*)(sql::Connection&);
// kMigrations[i] upgrades a database from version i to version i + 1.
constexpr std::array<MigrationStep, 4> kMigrations = {migrate_to_v1, migrate_to_v2, migrate_to_v3, migrate_to_v4};

constexpr const char* kRequiredTables[] = {"environments", "tune_runs", "measurements"};

constexpr size_t kHeaderSize = 100;

uint32_t read_be(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

// The running checksum of the WAL format over `data` (a multiple of 8 bytes), in the byte
// order the WAL's magic number names.
void wal_checksum(const unsigned char* data, size_t size, bool big_endian, uint32_t& s0, uint32_t& s1) {
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint32_t x0, x1;
    if (big_endian) {
      x0 = read_be(data + i, 4);
      x1 = read_be(data + i + 4, 4);
    } else {
      x0 = data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (uint32_t{data[i + 3]} << 24);
      x1 = data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (uint32_t{data[i + 7]} << 24);
    }
    s0 += x0 + s1;
    s1 += x1 + s0;
  }
}

// Page numbers in the frames of `wal_file` that SQLite would use: the valid frames (salts and
// checksum chain intact) up to the last commit frame. Empty when the file is missing, is not a
// WAL of `page_size`-byte pages, or has no committed frame.
std::set<uint32_t> committed_wal_pages(const std::string& wal_file, uint32_t page_size) {
  std::ifstream in(wal_file, std::ios::binary);
  std::array<unsigned char, 32> header{};
  if (!in.read(reinterpret_cast<char*>(header.data()), header.size())) return {};
  const uint32_t magic = read_be(&header[0], 4);
  if ((magic & 0xfffffffe) != 0x377f0682 || read_be(&header[8], 4) != page_size) return {};
  const bool big_endian = (magic & 1) != 0;
  uint32_t s0 = 0, s1 = 0;
  wal_checksum(header.data(), 24, big_endian, s0, s1);
  if (s0 != read_be(&header[24], 4) || s1 != read_be(&header[28], 4)) return {};
  std::set<uint32_t> committed, pending;
  std::vector<unsigned char> frame(24 + size_t{page_size});
  while (in.read(reinterpret_cast<char*>(frame.data()), static_cast<std::streamsize>(frame.size()))) {
    if (std::memcmp(&frame[8], &header[16], 8) != 0) break;  // salts of an older WAL generation
    wal_checksum(frame.data(), 8, big_endian, s0, s1);
    wal_checksum(frame.data() + 24, page_size, big_endian, s0, s1);
    if (s0 != read_be(&frame[16], 4) || s1 != read_be(&frame[20], 4)) break;
    pending.insert(read_be(&frame[0], 4));
    if (read_be(&frame[4], 4) != 0) {  // a commit frame: everything up to here counts
      committed.insert(pending.begin(), pending.end());
      pending.clear();
    }
  }
  return committed;
}

}  // namespace

int schema_version() {
  return static_cast<int>(kMigrations.size());
}

Status check_header(const std::string& path, std::string_view header, uint64_t size) {
  if (size == 0) return ok_status();
  static constexpr char kMagic[] = "SQLite format 3";  // followed by a NUL byte
  if (header.size() < sizeof(kMagic) || std::memcmp(header.data(), kMagic, sizeof(kMagic)) != 0) {
    return invalid_argument(
        "'{}' is not a gqaforge database: it is not an SQLite file "
        "(no 'SQLite format 3' header)",
        path);
  }
  if (size < kHeaderSize || header.size() < kHeaderSize) {
    return data_loss("database '{}' is truncated: {} bytes, shorter than the 100-byte SQLite header", path, size);
  }
  const uint32_t page_size = header_page_size(header);
  if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) != 0) {
    return data_loss("database '{}' is corrupt: page size {} in its header is invalid", path, page_size);
  }
  return ok_status();
}

uint32_t header_page_size(std::string_view header) {
  if (header.size() < kHeaderSize) return 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(header.data());
  const uint32_t page_size = read_be(&bytes[16], 2);
  return page_size == 1 ? 65536 : page_size;
}

int64_t header_page_count(std::string_view header) {
  if (header.size() < kHeaderSize) return 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(header.data());
  const uint32_t change_counter = read_be(&bytes[24], 4);
  const uint32_t page_count = read_be(&bytes[28], 4);
  const uint32_t valid_for = read_be(&bytes[92], 4);
  return valid_for == change_counter ? page_count : 0;
}

Status check_size(const std::string& path, uint64_t file_size, uint32_t page_size, int64_t db_pages,
                  const std::string& wal_file) {
  if (page_size == 0 || db_pages <= 0) return ok_status();
  if (wal_file.empty() && file_size % page_size != 0) {
    return data_loss("database '{}' is truncated: {} bytes is not a whole number of {}-byte pages", path, file_size,
                     page_size);
  }
  const uint64_t file_pages = file_size / page_size;
  if (file_pages >= static_cast<uint64_t>(db_pages)) return ok_status();
  if (wal_file.empty()) {
    return data_loss("database '{}' is truncated: {} bytes, but its header says {} pages of {} bytes", path, file_size,
                     db_pages, page_size);
  }
  // The pages past the end of the file are healthy if the WAL holds them: a checkpoint copies
  // them into the file later (one in progress, or one a full disk stopped).
  std::set<uint32_t> in_wal = committed_wal_pages(wal_file, page_size);
  for (uint64_t page = file_pages + 1; page <= static_cast<uint64_t>(db_pages); ++page) {
    if (in_wal.count(static_cast<uint32_t>(page)) == 0) {
      return data_loss(
          "database '{}' is truncated: its {} bytes hold {} of its {} pages of {} bytes, and "
          "its WAL does not hold page {} either",
          path, file_size, file_pages, db_pages, page_size, page);
    }
  }
  return ok_status();
}

Result<int> inspect(sql::Connection& conn) {
  const std::string& path = conn.path();
  // The first read of page 1: a damaged or foreign file fails here.
  auto tables = conn.query_int("SELECT count(*) FROM sqlite_master");
  if (!tables.ok()) {
    return Status(tables.status().code(),
                  fmt::format("'{}' is not a usable gqaforge database: {}", path, tables.status().message()));
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
    return invalid_argument("'{}' is not a gqaforge database (user_version {} but application_id {:#x})", path, version,
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
    GQF_ASSIGN_OR_RETURN(sql::Statement st,
                         conn.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"));
    st.bind(1, table);
    GQF_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row || st.column_int(0) != 1) {
      return data_loss("'{}' claims gqaforge schema version {} but has no '{}' table", path, version, table);
    }
  }
  return static_cast<int>(version);
}

Status migrate(sql::Connection& conn) {
  int before = 0;
  {
    // inspect() reads in several statements: one snapshot for all of them, or a migration
    // committed by another process in between reads as half a schema.
    GQF_ASSIGN_OR_RETURN(sql::Transaction read, sql::Transaction::begin(conn, sql::Transaction::Kind::kDeferred));
    GQF_ASSIGN_OR_RETURN(before, inspect(conn));
    GQF_RETURN_IF_ERROR(read.commit());
  }
  if (before == schema_version()) return ok_status();
  GQF_ASSIGN_OR_RETURN(sql::Transaction tx, sql::Transaction::begin(conn, sql::Transaction::Kind::kImmediate));
  // Another process may have migrated between the check above and taking the write lock.
  GQF_ASSIGN_OR_RETURN(int version, inspect(conn));
  if (version == 0) {
    GQF_RETURN_IF_ERROR(conn.exec(fmt::format("PRAGMA application_id = {}", kApplicationId)));
  }
  for (int v = version; v < schema_version(); ++v) {
    GQF_RETURN_IF_ERROR_CTX(kMigrations[static_cast<size_t>(v)](conn),
                            fmt::format("migrating '{}' from schema version {} to {}", conn.path(), v, v + 1));
  }
  GQF_RETURN_IF_ERROR(conn.exec(fmt::format("PRAGMA user_version = {}", schema_version())));
  return tx.commit();
}

}  // namespace gqaforge::db::schema
