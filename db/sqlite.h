// A thin RAII layer over the SQLite C API: one Connection, prepared Statements, and
// Transactions that roll back unless committed. Every error is a Status carrying the SQL text
// and sqlite3_errmsg, so a failure names what was being done and why it failed; SQLite's
// "corrupt" and "not a database" results read as data loss naming the file.
#pragma once

#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace gqaforge::db::sql {

/// Maps an SQLite result code to the gqaforge status vocabulary (busy -> unavailable,
/// corrupt/notadb -> data_loss, full -> resource_exhausted, constraint -> invalid_argument).
StatusCode status_code_for(int sqlite_rc);

class Statement;

/// One open database connection. Move-only; the destructor closes it.
class Connection {
 public:
  Connection() = default;
  ~Connection();
  Connection(Connection&& other) noexcept;
  Connection& operator=(Connection&& other) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Opens `path` (a file name, or a "file:" URI with SQLITE_OPEN_URI) with sqlite3_open_v2
  /// `flags` (SQLITE_OPEN_READONLY, ...|CREATE, ...). `name` is what messages and path() call
  /// the database ("" = `path`), so a URI or a private copy is reported by the user's path.
  /// Opening reads nothing yet, so a bad file is reported by the first query, not here.
  static Result<Connection> open(const std::string& path, int flags, const std::string& name = "");

  /// For a connection that reads `file` without locks (immutable=1): remembers the file's
  /// identity, size and times now (waiting, a few ms at most, until its last change is a
  /// clock tick old), and from then on every statement that finishes checks that they are
  /// unchanged, failing (unavailable) if another process wrote the file meanwhile, because
  /// what was read may mix two versions of it.
  void guard_unchanged(const std::string& file);
  /// ok unless guard_unchanged() is active and the file changed since.
  Status check_unchanged() const;

  /// Runs one or more statements that return no rows.
  Status exec(std::string_view sql);
  /// Compiles one statement.
  Result<Statement> prepare(std::string_view sql);
  /// Runs a statement that returns one integer (e.g. "PRAGMA user_version").
  Result<int64_t> query_int(std::string_view sql);
  /// Runs a statement that returns one text value (e.g. "PRAGMA journal_mode").
  Result<std::string> query_text(std::string_view sql);

  /// How long a statement waits for another connection's lock before failing with "database
  /// is locked". Unlike sqlite3_busy_timeout, whose polls settle at one every 100 ms, it polls
  /// after a random 1-10 ms each time: SQLite's write lock has no queue, and a writer polling
  /// on a fixed beat behind others that commit back to back can miss every gap between their
  /// transactions until it gives up.
  void set_busy_timeout(int ms);

  /// Status for the last error on this connection while running `sql`.
  Status error(int rc, std::string_view sql) const;

  int64_t last_insert_rowid() const;
  /// Rows changed by the last INSERT/UPDATE/DELETE.
  int64_t changes() const;
  bool is_open() const { return db_ != nullptr; }
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

 private:
  struct FileStamp {
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    timespec mtime{};
    timespec ctime{};
  };
  static std::optional<FileStamp> stamp_of(const std::string& file);

  sqlite3* db_ = nullptr;
  std::string path_;
  std::string guarded_file_;        // "" = no guard
  std::optional<FileStamp> guard_;  // the guarded file when the guard was set
};

/// A prepared statement. Move-only; the destructor finalizes it. Bind errors are remembered
/// and reported by the next step(), so binds chain: st.bind(1, a).bind(2, b); st.step().
class Statement {
 public:
  Statement() = default;
  Statement(const Connection* conn, sqlite3_stmt* stmt);
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// Binds parameter `index` (1-based). NaN doubles are stored as NULL (SQLite's own rule).
  Statement& bind(int index, int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<int64_t>(value)); }
  Statement& bind(int index, bool value) { return bind(index, static_cast<int64_t>(value ? 1 : 0)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind_null(int index);

  /// Advances: true when a row is available, false when done.
  Result<bool> step();
  /// Steps until done (for INSERT/UPDATE/DELETE), ignoring any rows.
  Status run();
  /// Resets for re-execution and clears bindings.
  void reset();

  int64_t column_int(int index) const;
  /// A NULL column reads as NaN (the way a NaN was stored).
  double column_double(int index) const;
  std::string column_text(int index) const;
  bool column_is_null(int index) const;

  std::string sql() const;

 private:
  const Connection* conn_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  Status bind_status_;
};

/// A transaction that rolls back when destroyed uncommitted.
class Transaction {
 public:
  enum class Kind {
    kDeferred,   // BEGIN: readers that want one consistent snapshot
    kImmediate,  // BEGIN IMMEDIATE: writers; takes the write lock up front (busy timeout applies)
  };

  Transaction() = default;
  ~Transaction();
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&& other) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  static Result<Transaction> begin(Connection& conn, Kind kind);
  Status commit();
  /// Rolls back now; also what the destructor does when commit() was not reached.
  Status rollback();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_ = nullptr;
};

}  // namespace gqaforge::db::sql
