// RAII wrapper over the SQLite C API; see sqlite.h.
#include "db/sqlite.h"

#include <time.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <utility>

#include "core/log.h"

namespace gqaforge::db::sql {
namespace {

// SQL text for error messages: whitespace collapsed, long statements shortened.
std::string sql_for_message(std::string_view sql) {
  std::string out;
  bool space = false;
  for (char c : sql) {
    bool is_space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (is_space) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  constexpr size_t kMaxSql = 160;
  if (out.size() > kMaxSql) out = out.substr(0, kMaxSql) + "...";
  return out;
}

}  // namespace

StatusCode status_code_for(int sqlite_rc) {
  switch (sqlite_rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StatusCode::kUnavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StatusCode::kDataLoss;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return StatusCode::kResourceExhausted;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
      return StatusCode::kInvalidArgument;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
      return StatusCode::kUnavailable;
    default:
      return StatusCode::kInternal;
  }
}

// ---- Connection ----

Connection::~Connection() {
  if (db_ != nullptr) {
    int rc = sqlite3_close_v2(db_);
    if (rc != SQLITE_OK) log_warn("sqlite: closing '{}' failed: {}", path_, sqlite3_errstr(rc));
  }
}

Connection::Connection(Connection&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)),
      path_(std::move(other.path_)),
      guarded_file_(std::exchange(other.guarded_file_, std::string())),
      guard_(std::exchange(other.guard_, std::nullopt)) {}

Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    Connection dying(std::move(*this));
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
    guarded_file_ = std::exchange(other.guarded_file_, std::string());
    guard_ = std::exchange(other.guard_, std::nullopt);
  }
  return *this;
}

Result<Connection> Connection::open(const std::string& path, int flags, const std::string& name) {
  Connection conn;
  conn.path_ = name.empty() ? path : name;
  int rc = sqlite3_open_v2(path.c_str(), &conn.db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = conn.db_ != nullptr ? sqlite3_errmsg(conn.db_) : sqlite3_errstr(rc);
    return Status(status_code_for(rc), fmt::format("cannot open '{}': {}", conn.path_, why));
  }
  sqlite3_extended_result_codes(conn.db_, 1);
  return conn;
}

std::optional<Connection::FileStamp> Connection::stamp_of(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return std::nullopt;
  return FileStamp{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
}

void Connection::guard_unchanged(const std::string& file) {
  guarded_file_ = file;
  // File times come from the kernel's coarse clock, so a write in the same tick as the stamp
  // would leave it unchanged. Stamp a file whose last change is a tick in the past: any later
  // write then moves its times. (A file dated in the future stops the wait after ~0.2 s.)
  auto before = [](const timespec& a, const timespec& b) {
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
  };
  for (int waited = 0;; ++waited) {
    guard_ = stamp_of(file);
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (!guard_ || waited == 100 || (before(guard_->mtime, now) && before(guard_->ctime, now))) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

Status Connection::check_unchanged() const {
  if (guarded_file_.empty()) return ok_status();
  std::optional<FileStamp> now = stamp_of(guarded_file_);
  auto same_time = [](const timespec& a, const timespec& b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; };
  if (guard_ && now && now->dev == guard_->dev && now->ino == guard_->ino && now->size == guard_->size &&
      same_time(now->mtime, guard_->mtime) && same_time(now->ctime, guard_->ctime)) {
    return ok_status();
  }
  return unavailable(
      "database '{}' was changed by another process while it was being read (it was read "
      "without locks because no other process had it open); run the command again",
      path_);
}

namespace {

// sqlite3_busy_handler callback; `arg` carries the timeout in ms. Called on the thread that
// waits, with count 0 at the start of each wait.
int busy_with_jitter(void* arg, int count) {
  thread_local std::chrono::steady_clock::time_point waiting_since;
  thread_local std::minstd_rand random(std::random_device{}());
  const auto now = std::chrono::steady_clock::now();
  if (count == 0) waiting_since = now;
  const auto timeout = std::chrono::milliseconds(reinterpret_cast<intptr_t>(arg));
  if (now - waiting_since >= timeout) return 0;
  std::uniform_int_distribution<int> pause_us(1000, 10000);
  std::this_thread::sleep_for(std::chrono::microseconds(pause_us(random)));
  return 1;
}

}  // namespace

void Connection::set_busy_timeout(int ms) {
  sqlite3_busy_handler(db_, busy_with_jitter, reinterpret_cast<void*>(static_cast<intptr_t>(ms)));
}

Status Connection::error(int rc, std::string_view sql) const {
  std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  // A file changed under a lock-free reader explains any error that reader then sees.
  if (Status changed = check_unchanged(); !changed.ok()) return changed;
  if (status_code_for(rc) == StatusCode::kDataLoss) {
    return data_loss(
        "database '{}' is damaged, data may be lost: {} (while running `{}`); restore it from a "
        "copy or an export",
        path_, why, sql_for_message(sql));
  }
  return Status(status_code_for(rc),
                fmt::format("sqlite error on '{}': {} (while running `{}`)", path_, why, sql_for_message(sql)));
}

Status Connection::exec(std::string_view sql) {
  std::string text(sql);
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return error(rc, sql);
  return ok_status();
}

Result<Statement> Connection::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return error(rc, sql);
  return Statement(this, stmt);
}

Result<int64_t> Connection::query_int(std::string_view sql) {
  GQF_ASSIGN_OR_RETURN(Statement st, prepare(sql));
  GQF_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return internal_error("`{}` returned no row", sql_for_message(sql));
  const int64_t value = st.column_int(0);
  GQF_RETURN_IF_ERROR(check_unchanged());  // the statement stops at its row, before DONE
  return value;
}

Result<std::string> Connection::query_text(std::string_view sql) {
  GQF_ASSIGN_OR_RETURN(Statement st, prepare(sql));
  GQF_ASSIGN_OR_RETURN(bool row, st.step());
  if (!row) return internal_error("`{}` returned no row", sql_for_message(sql));
  std::string value = st.column_text(0);
  GQF_RETURN_IF_ERROR(check_unchanged());
  return value;
}

int64_t Connection::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int64_t Connection::changes() const {
  return sqlite3_changes64(db_);
}

// ---- Statement ----

Statement::Statement(const Connection* conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}

Statement::~Statement() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : conn_(other.conn_), stmt_(std::exchange(other.stmt_, nullptr)), bind_status_(std::move(other.bind_status_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    if (stmt_ != nullptr) sqlite3_finalize(stmt_);
    conn_ = other.conn_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_status_ = std::move(other.bind_status_);
  }
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = conn_->error(rc, sql());
  return *this;
}

Statement& Statement::bind(int index, double value) {
  int rc = std::isnan(value) ? sqlite3_bind_null(stmt_, index) : sqlite3_bind_double(stmt_, index, value);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = conn_->error(rc, sql());
  return *this;
}

Statement& Statement::bind(int index, std::string_view value) {
  int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = conn_->error(rc, sql());
  return *this;
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK && bind_status_.ok()) bind_status_ = conn_->error(rc, sql());
  return *this;
}

Result<bool> Statement::step() {
  if (!bind_status_.ok()) return bind_status_;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    // Every row this statement returned is only trustworthy if the file did not change.
    GQF_RETURN_IF_ERROR(conn_->check_unchanged());
    return false;
  }
  return conn_->error(rc, sql());
}

Status Statement::run() {
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, step());
    if (!row) return ok_status();
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_status_ = ok_status();
}

int64_t Statement::column_int(int index) const {
  return sqlite3_column_int64(stmt_, index);
}

double Statement::column_double(int index) const {
  if (sqlite3_column_type(stmt_, index) == SQLITE_NULL) return std::nan("");
  return sqlite3_column_double(stmt_, index);
}

std::string Statement::column_text(int index) const {
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  if (text == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(stmt_, index)));
}

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

std::string Statement::sql() const {
  const char* text = stmt_ != nullptr ? sqlite3_sql(stmt_) : nullptr;
  return text != nullptr ? std::string(text) : std::string();
}

// ---- Transaction ----

Transaction::~Transaction() {
  if (conn_ != nullptr) {
    Status s = rollback();
    if (!s.ok()) log_warn("{}", s.message());
  }
}

Transaction::Transaction(Transaction&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}

Transaction& Transaction::operator=(Transaction&& other) noexcept {
  if (this != &other) {
    if (conn_ != nullptr) {
      Status s = rollback();
      if (!s.ok()) log_warn("{}", s.message());
    }
    conn_ = std::exchange(other.conn_, nullptr);
  }
  return *this;
}

Result<Transaction> Transaction::begin(Connection& conn, Kind kind) {
  GQF_RETURN_IF_ERROR(conn.exec(kind == Kind::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN"));
  return Transaction(&conn);
}

Status Transaction::commit() {
  assert(conn_ != nullptr && "commit() on a finished transaction");
  Status s = conn_->exec("COMMIT");
  if (!s.ok()) return s;  // still active: the destructor rolls back
  conn_ = nullptr;
  return ok_status();
}

Status Transaction::rollback() {
  if (conn_ == nullptr) return ok_status();
  Connection* conn = std::exchange(conn_, nullptr);
  // After some errors (e.g. SQLITE_FULL) SQLite has already rolled back.
  if (sqlite3_get_autocommit(conn->handle()) != 0) return ok_status();
  return conn->exec("ROLLBACK");
}

}  // namespace gqaforge::db::sql
