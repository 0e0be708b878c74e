// Database: opening a file (inspected read-only first) and the connection's life.
#include "db/database.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <set>
#include <thread>
#include <variant>

#include "core/build_info.h"
#include "core/fs.h"
#include "core/log.h"
#include "db/reader.h"
#include "db/rows.h"
#include "db/schema.h"

namespace gqaforge::db {
using namespace detail;
using sql::Statement;
using sql::Transaction;

// ---- Opening ----

namespace {

// Everything a writer needs after the file passed inspection (or was just created): WAL mode,
// the current schema, foreign keys.
Status prepare_writer(sql::Connection& conn, bool memory) {
  if (!memory) {
    if (sqlite3_db_readonly(conn.handle(), "main") == 1) {
      return unavailable(
          "database '{}' is not writable (permission denied); read-only commands such as `db "
          "info` and `db export` can still read it",
          conn.path());
    }
    // Switching a new file to WAL needs an exclusive lock, and SQLite refuses that at once
    // (without its busy handler) when another process is opening the same file: retry
    // within the busy timeout.
    Result<std::string> journal_result = conn.query_text("PRAGMA journal_mode = WAL");
    for (int waited_ms = 0; !journal_result.ok() && waited_ms < Database::kBusyTimeoutMs; waited_ms += 20) {
      const std::string& m = journal_result.status().message();
      if (m.find("locked") == std::string::npos && m.find("busy") == std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      journal_result = conn.query_text("PRAGMA journal_mode = WAL");
    }
    GQF_ASSIGN_OR_RETURN(std::string journal, journal_result);
    if (journal != "wal") {
      return unavailable("cannot switch '{}' to WAL mode (journal_mode is '{}')", conn.path(), journal);
    }
  }
  GQF_RETURN_IF_ERROR(schema::migrate(conn));
  return conn.exec("PRAGMA foreign_keys = ON");
}

// Inspects an existing file through its read-only connection, inside one read transaction
// (one snapshot): its size against what SQLite sees, its schema, and for writers SQLite's
// integrity check. Returns the schema version. Changes nothing.
Result<int> inspect_snapshot(detail::Reader& reader, bool for_writing) {
  sql::Connection& conn = reader.conn;
  GQF_ASSIGN_OR_RETURN(Transaction tx, Transaction::begin(conn, Transaction::Kind::kDeferred));
  GQF_RETURN_IF_ERROR(detail::check_reader_size(reader));
  GQF_ASSIGN_OR_RETURN(int version, schema::inspect(conn));
  if (for_writing) {
    // integrity_check rather than quick_check: only it compares the indexes with the rows,
    // and a flipped byte in a row's key (the UNIQUE index) is what quick_check misses. It
    // reads the whole file (about 1 s for 230k rows), once per writer.
    GQF_ASSIGN_OR_RETURN(Statement st, conn.prepare("PRAGMA integrity_check(1)"));
    GQF_ASSIGN_OR_RETURN(bool row, st.step());
    const std::string first = row ? st.column_text(0) : std::string("no result");
    if (first != "ok") {
      return data_loss(
          "database '{}' is damaged, refusing to write to it: SQLite's integrity check says "
          "\"{}\" (restore it from a copy or an export; read-only commands may still read "
          "most rows)",
          conn.path(), first);
    }
  }
  GQF_RETURN_IF_ERROR(tx.commit());
  return version;
}

Result<int> inspect_existing(detail::Reader& reader, bool for_writing) {
  Result<int> version = inspect_snapshot(reader, for_writing);
  // Read without locks, the file may have been checkpointed into meanwhile: then a verdict
  // on what was read means nothing (and the caller reads it again, the shared way).
  if (Status changed = reader.conn.check_unchanged(); !changed.ok()) return changed;
  return version;
}

}  // namespace

Database::Database(sql::Connection conn, OpenMode mode, std::shared_ptr<void> keep_alive)
    : keep_alive_(std::move(keep_alive)),
      conn_(std::move(conn)),
      mode_(mode),
      statements_(std::make_unique<Statements>()) {
  claim_owner_ = fmt::format("{}:{}:{}", host_name(), getpid(), new_run_uid().substr(0, 8));
}

Database::~Database() {
  if (holds_claims_) release_claims();
  // The snapshot and the prepared statements go before the connection they belong to.
  snapshot_.reset();
  statements_.reset();
}

Result<std::unique_ptr<Database>> Database::open(const std::string& path, OpenMode mode) {
  if (path.empty()) return invalid_argument("database path is empty");
  if (path == ":memory:") {
    const int flags = mode == OpenMode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    GQF_ASSIGN_OR_RETURN(sql::Connection conn, sql::Connection::open(path, flags));
    GQF_ASSIGN_OR_RETURN(int version, schema::inspect(conn));
    if (mode == OpenMode::kReadOnly && version < schema::schema_version()) {
      return failed_precondition("':memory:' is an empty database; it cannot be read read-only");
    }
    if (mode != OpenMode::kReadOnly) GQF_RETURN_IF_ERROR(prepare_writer(conn, /*memory=*/true));
    return std::unique_ptr<Database>(new Database(std::move(conn), mode, nullptr));
  }

  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int err = errno;
    if (err != ENOENT) {
      return unavailable("cannot look at database '{}': {}", path, std::strerror(err));
    }
    if (mode != OpenMode::kReadWrite) {
      return not_found("database '{}' does not exist: {}", path, std::strerror(err));
    }
    // Always a URI of the path as given: a name such as "file:x" or "a?b" means that file.
    GQF_ASSIGN_OR_RETURN(sql::Connection conn,
                         sql::Connection::open(detail::file_uri(path, "mode=rwc"),
                                               SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, path));
    conn.set_busy_timeout(kBusyTimeoutMs);
    GQF_RETURN_IF_ERROR(prepare_writer(conn, /*memory=*/false));
    return std::unique_ptr<Database>(new Database(std::move(conn), mode, nullptr));
  }
  if (S_ISDIR(st.st_mode)) return invalid_argument("database '{}' is a directory, not a file", path);

  if (mode != OpenMode::kReadOnly) {
    // Said first, before the integrity check reads the whole file. SQLite keeps the -wal next
    // to the file a symbolic link points to.
    std::error_code ec;
    std::filesystem::path real = std::filesystem::canonical(path, ec);
    if (ec) real = path;
    const std::filesystem::path dir = real.parent_path();
    const std::string dir_name = dir.empty() ? std::string(".") : dir.string();
    if (::access(dir_name.c_str(), W_OK | X_OK) != 0) {
      const int err = errno;
      return unavailable(
          "cannot write database '{}': its directory '{}' is not writable ({}), and SQLite "
          "keeps its write-ahead log '{}-wal' next to it; read-only commands can still read it",
          path, dir_name, std::strerror(err), real.string());
    }
  }

  // Every existing file is inspected read-only first, so a refused file stays byte-identical.
  // A process opening or closing the file meanwhile can pull a side file away under the
  // reader; then it starts over.
  constexpr int kAttempts = 5;
  bool force_copy = false;
  for (int attempt = 1;; ++attempt) {
    const detail::SideFiles sides = detail::side_files(path);
    Result<detail::Reader> reader = detail::open_reader(path, force_copy);
    Result<int> version = reader.ok() ? Result<int>(0) : Result<int>(reader.status());
    if (reader.ok()) {
      reader->conn.set_busy_timeout(kBusyTimeoutMs);
      version = inspect_existing(*reader, mode != OpenMode::kReadOnly);
    }
    if (!version.ok()) {
      const bool changed =
          !(detail::side_files(path) == sides) || (reader.ok() && !reader->conn.check_unchanged().ok());
      if (attempt < kAttempts && version.status().code() == StatusCode::kUnavailable && changed) continue;
      // A -shm left stale by a process killed while writing: the read-only wal-index cannot be
      // rebuilt in place, so the file and its WAL are read from a private copy instead.
      if (!force_copy && version.status().message().find("locking protocol") != std::string::npos) {
        force_copy = true;
        continue;
      }
      return version.status();
    }
    if (mode != OpenMode::kReadOnly) break;
    if (*version == 0) {
      // An empty file (or an SQLite file without tables) is no database: never advise migrating
      // it, which would turn someone's file into one.
      return invalid_argument("'{}' is empty: not a gqaforge database", path);
    }
    if (*version < schema::schema_version()) {
      return failed_precondition(
          "'{}' has schema version {}, older than {}; it cannot be read without "
          "migrating (run `gqaforge db migrate --db {}`)",
          path, *version, schema::schema_version(), path);
    }
    GQF_RETURN_IF_ERROR(reader->conn.exec("PRAGMA query_only = 1"));
    const bool wal_header = reader->header.size() > 18 && reader->header[18] == 2;
    auto db = std::unique_ptr<Database>(new Database(std::move(reader->conn), mode, std::move(reader->copy)));
    // A file read without locks reports its own journal mode, not the connection's.
    if (reader->kind == detail::ReadKind::kImmutable && wal_header) db->journal_mode_ = "wal";
    return db;
  }
  // A writer: the file passed, so reopen it read-write (never creating it).
  GQF_ASSIGN_OR_RETURN(sql::Connection conn, sql::Connection::open(detail::file_uri(path, "mode=rw"),
                                                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, path));
  conn.set_busy_timeout(kBusyTimeoutMs);
  GQF_RETURN_IF_ERROR(prepare_writer(conn, /*memory=*/false));
  return std::unique_ptr<Database>(new Database(std::move(conn), mode, nullptr));
}

Status Database::check_writable() const {
  if (mode_ == OpenMode::kReadOnly) return failed_precondition("database '{}' was opened read-only", path());
  return ok_status();
}

}  // namespace gqaforge::db
