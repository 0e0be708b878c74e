// Database: opening, the writers behind MeasurementSink, merge, and the queries.
#include "db/database.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>
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
#include "db/schema.h"

namespace gqaforge {
namespace {

using sql::Statement;
using sql::Transaction;

// Measurement columns in the order read_measurement() expects them.
constexpr const char* kMeasurementColumns[] = {
    "env_key",     "family",     "n_q_heads",   "n_kv_heads",   "head_dim",    "dtype",
    "causal",      "batch",      "q_len",       "kv_len",       "gemm_m",      "gemm_n",
    "gemm_k",      "kernel_key", "config",      "status",       "message",     "median_us",
    "min_us",      "stddev_us",  "repetitions", "max_error",    "error_bound", "tflops",
    "tbps",        "compile_ms", "registers",   "shared_bytes", "spill_bytes", "is_best",
    "measured_at", "run_id"};
constexpr int kMeasurementColumnCount = static_cast<int>(std::size(kMeasurementColumns));

constexpr const char* kEnvironmentColumns =
    "key, gpu_name, gpu_uuid, sm_count, cc_major, cc_minor, sm_clock_mhz, mem_clock_mhz, "
    "memory_bytes, "
    "driver_version, nvrtc_version, codegen_version, gqaforge_commit, build_type, host, codegen_hash";

// Sort order of problems in query results: environment, then the problem fields.
constexpr const char* kProblemOrder =
    "env_key, family, n_q_heads, n_kv_heads, head_dim, dtype, causal, batch, q_len, kv_len, "
    "gemm_m, "
    "gemm_n, gemm_k, kernel_key";

// "p.env_key, p.family, ..." for a table alias `prefix`.
std::string measurement_columns(const std::string& prefix) {
  std::string out;
  for (const char* c : kMeasurementColumns) {
    if (!out.empty()) out += ", ";
    out += prefix + c;
  }
  return out;
}

Result<MeasurementRecord> read_measurement(const Statement& st, const std::string& path) {
  MeasurementRecord m;
  m.env_key = st.column_text(0);
  m.problem.family = st.column_text(1);
  m.problem.n_q_heads = static_cast<int>(st.column_int(2));
  m.problem.n_kv_heads = static_cast<int>(st.column_int(3));
  m.problem.head_dim = static_cast<int>(st.column_int(4));
  m.problem.dtype = st.column_text(5);
  m.problem.causal = st.column_int(6) != 0;
  m.problem.batch = st.column_int(7);
  m.problem.q_len = st.column_int(8);
  m.problem.kv_len = st.column_int(9);
  m.problem.gemm_m = st.column_int(10);
  m.problem.gemm_n = st.column_int(11);
  m.problem.gemm_k = st.column_int(12);
  m.kernel_key = st.column_text(13);
  m.config = st.column_text(14);
  std::string status = st.column_text(15);
  auto parsed = parse_measure_status(status);
  if (!parsed) {
    return data_loss("'{}' holds a measurement of kernel '{}' with unknown status '{}'", path,
                     m.kernel_key, status);
  }
  m.status = *parsed;
  m.message = st.column_text(16);
  m.median_us = st.column_double(17);
  m.min_us = st.column_double(18);
  m.stddev_us = st.column_double(19);
  m.repetitions = static_cast<int>(st.column_int(20));
  m.max_error = st.column_double(21);
  m.error_bound = st.column_double(22);
  m.tflops = st.column_double(23);
  m.tbps = st.column_double(24);
  m.compile_ms = st.column_double(25);
  m.registers = static_cast<int>(st.column_int(26));
  m.shared_bytes = static_cast<int>(st.column_int(27));
  m.spill_bytes = static_cast<int>(st.column_int(28));
  m.is_best = st.column_int(29) != 0;
  m.measured_at = st.column_text(30);
  m.run_id = st.column_is_null(31) ? 0 : st.column_int(31);
  return m;
}

// Every remaining row of `st`, read with read_measurement().
Result<std::vector<MeasurementRecord>> read_measurements(Statement& st, const std::string& path) {
  std::vector<MeasurementRecord> rows;
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return rows;
    GQF_ASSIGN_OR_RETURN(MeasurementRecord m, read_measurement(st, path));
    rows.push_back(std::move(m));
  }
}

EnvironmentEntry read_environment(const Statement& st) {
  EnvironmentEntry e;
  e.key = st.column_text(0);
  e.env.gpu_name = st.column_text(1);
  e.env.gpu_uuid = st.column_text(2);
  e.env.sm_count = static_cast<int>(st.column_int(3));
  e.env.cc_major = static_cast<int>(st.column_int(4));
  e.env.cc_minor = static_cast<int>(st.column_int(5));
  e.env.sm_clock_mhz = static_cast<int>(st.column_int(6));
  e.env.mem_clock_mhz = static_cast<int>(st.column_int(7));
  e.env.memory_bytes = st.column_int(8);
  e.env.driver_version = static_cast<int>(st.column_int(9));
  e.env.nvrtc_version = st.column_text(10);
  e.env.codegen_version = static_cast<int>(st.column_int(11));
  e.env.gqaforge_commit = st.column_text(12);
  e.env.build_type = st.column_text(13);
  e.env.host = st.column_text(14);
  e.env.codegen_hash = st.column_text(15);
  return e;
}

// Conditions for a MeasurementFilter, with their parameters in order.
struct WhereClause {
  std::string sql;  // " AND a = ? AND b = ?" (empty when the filter matches everything)
  std::vector<std::variant<int64_t, std::string>> args;

  void add(const std::string& column, int64_t value) {
    if (value == 0) return;
    sql += fmt::format(" AND {} = ?", column);
    args.emplace_back(value);
  }
  void add(const std::string& column, const std::string& value) {
    if (value.empty()) return;
    sql += fmt::format(" AND {} = ?", column);
    args.emplace_back(value);
  }
  // Binds the parameters starting at index `first`.
  void bind(Statement& st, int first) const {
    for (const auto& a : args) {
      if (std::holds_alternative<int64_t>(a)) {
        st.bind(first++, std::get<int64_t>(a));
      } else {
        st.bind(first++, std::get<std::string>(a));
      }
    }
  }
};

WhereClause where_for(const MeasurementFilter& f, bool with_status) {
  WhereClause w;
  w.add("family", f.family);
  w.add("n_q_heads", f.n_q_heads);
  w.add("n_kv_heads", f.n_kv_heads);
  w.add("head_dim", f.head_dim);
  w.add("dtype", f.dtype);
  w.add("batch", f.batch);
  w.add("kv_len", f.kv_len);
  w.add("env_key", f.env_key);
  if (with_status && f.status) w.add("status", std::string(measure_status_name(*f.status)));
  return w;
}

Status validate_measurement(const MeasurementRecord& m) {
  if (m.env_key.empty())
    return invalid_argument("measurement of kernel '{}' has an empty env_key", m.kernel_key);
  if (m.kernel_key.empty()) {
    return invalid_argument("measurement for problem '{}' has an empty kernel_key",
                            m.problem.canonical());
  }
  if (m.problem.family.empty()) {
    return invalid_argument("measurement of kernel '{}' has an empty problem family", m.kernel_key);
  }
  return ok_status();
}

// A value for a message: NUL and other control bytes spelled out, long values shortened.
std::string shown(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 80)) {
    if (c == '\0') {
      out += "\\0";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return v.size() > 80 ? out + "..." : out;
}

Status no_nul(const char* column, const std::string& value) {
  if (value.find('\0') == std::string::npos) return ok_status();
  return invalid_argument("column '{}': '{}' contains a NUL byte", column, shown(value));
}

// "measurement of kernel 'k' for problem 'p' in environment 'e'", for merge messages.
std::string describe(const MeasurementRecord& m) {
  return fmt::format("measurement of kernel '{}' for problem '{}' in environment '{}'",
                     shown(m.kernel_key), shown(m.problem.canonical()), shown(m.env_key));
}

// Doubles as stored: NaN (stored as NULL) equals NaN.
bool same_double(double a, double b) {
  return a == b || (std::isnan(a) && std::isnan(b));
}

// True when `stored` already is the row an upsert of `m` (with the final best mark and run
// id) would write.
bool same_row(const MeasurementRecord& stored, const MeasurementRecord& m, bool is_best,
              std::optional<int64_t> run_id) {
  const ProblemRecord& a = stored.problem;
  const ProblemRecord& b = m.problem;
  return a.family == b.family && a.n_q_heads == b.n_q_heads && a.n_kv_heads == b.n_kv_heads &&
         a.head_dim == b.head_dim && a.dtype == b.dtype && a.causal == b.causal &&
         a.batch == b.batch && a.q_len == b.q_len && a.kv_len == b.kv_len && a.gemm_m == b.gemm_m &&
         a.gemm_n == b.gemm_n && a.gemm_k == b.gemm_k && stored.config == m.config &&
         stored.status == m.status && stored.message == m.message &&
         same_double(stored.median_us, m.median_us) && same_double(stored.min_us, m.min_us) &&
         same_double(stored.stddev_us, m.stddev_us) && stored.repetitions == m.repetitions &&
         same_double(stored.max_error, m.max_error) &&
         same_double(stored.error_bound, m.error_bound) && same_double(stored.tflops, m.tflops) &&
         same_double(stored.tbps, m.tbps) && same_double(stored.compile_ms, m.compile_ms) &&
         stored.registers == m.registers && stored.shared_bytes == m.shared_bytes &&
         stored.spill_bytes == m.spill_bytes && stored.is_best == is_best &&
         stored.measured_at == m.measured_at && stored.run_id == run_id.value_or(0);
}

std::string new_run_uid() {
  std::random_device rd;
  auto word = [&rd] { return (static_cast<uint64_t>(rd()) << 32) | rd(); };
  return fmt::format("{:016x}{:016x}", word(), word());
}

// Inserts the environment unless its key is present; true when a row was added.
Result<bool> insert_environment(sql::Connection& conn, const std::string& key,
                                const Environment& e) {
  if (key.empty()) return invalid_argument("environment of GPU '{}' has an empty key", e.gpu_name);
  GQF_ASSIGN_OR_RETURN(
      Statement st,
      conn.prepare(fmt::format("INSERT INTO environments ({}) VALUES "
                               "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (key) DO NOTHING",
                               kEnvironmentColumns)));
  st.bind(1, key).bind(2, e.gpu_name).bind(3, e.gpu_uuid).bind(4, e.sm_count).bind(5, e.cc_major);
  st.bind(6, e.cc_minor).bind(7, e.sm_clock_mhz).bind(8, e.mem_clock_mhz).bind(9, e.memory_bytes);
  st.bind(10, e.driver_version).bind(11, e.nvrtc_version).bind(12, e.codegen_version);
  st.bind(13, e.gqaforge_commit).bind(14, e.build_type).bind(15, e.host).bind(16, e.codegen_hash);
  GQF_RETURN_IF_ERROR(st.run());
  return conn.changes() > 0;
}

Result<int64_t> insert_run(sql::Connection& conn, const std::string& uid,
                           const TuneRunRecord& run) {
  GQF_ASSIGN_OR_RETURN(Statement st,
                       conn.prepare("INSERT INTO tune_runs (uid, env_key, command_line, strategy, "
                                    "started_at, finished_at) VALUES (?,?,?,?,?,?)"));
  st.bind(1, uid).bind(2, run.env_key).bind(3, run.command_line).bind(4, run.strategy);
  st.bind(5, run.started_at).bind(6, run.finished_at);
  GQF_RETURN_IF_ERROR(st.run());
  return conn.last_insert_rowid();
}

}  // namespace

// ---- Checks of incoming rows ----

Status check_entry(const EnvironmentEntry& e) {
  if (e.key.empty()) return invalid_argument("environment key is empty");
  const Environment& v = e.env;
  for (const auto& [column, value] : {std::pair<const char*, const std::string*>{"key", &e.key},
                                      {"gpu_name", &v.gpu_name},
                                      {"gpu_uuid", &v.gpu_uuid},
                                      {"nvrtc_version", &v.nvrtc_version},
                                      {"gqaforge_commit", &v.gqaforge_commit},
                                      {"build_type", &v.build_type},
                                      {"host", &v.host}}) {
    GQF_RETURN_IF_ERROR(no_nul(column, *value));
  }
  return ok_status();
}

Status check_entry(const RunEntry& r) {
  if (r.uid.empty()) return invalid_argument("run uid is empty");
  const TuneRunRecord& v = r.run;
  for (const auto& [column, value] : {std::pair<const char*, const std::string*>{"uid", &r.uid},
                                      {"env_key", &v.env_key},
                                      {"command_line", &v.command_line},
                                      {"strategy", &v.strategy},
                                      {"started_at", &v.started_at},
                                      {"finished_at", &v.finished_at}}) {
    GQF_RETURN_IF_ERROR(no_nul(column, *value));
  }
  return ok_status();
}

Status check_entry(const MeasurementEntry& entry) {
  const MeasurementRecord& m = entry.record;
  if (m.env_key.empty()) return invalid_argument("column 'env_key' is empty");
  if (m.kernel_key.empty()) return invalid_argument("column 'kernel_key' is empty");
  if (m.problem.family.empty()) return invalid_argument("column 'family' is empty");
  if (m.measured_at.empty()) return invalid_argument("column 'measured_at' is empty");
  for (const auto& [column, value] :
       {std::pair<const char*, const std::string*>{"env_key", &m.env_key},
        {"family", &m.problem.family},
        {"dtype", &m.problem.dtype},
        {"kernel_key", &m.kernel_key},
        {"config", &m.config},
        {"message", &m.message},
        {"measured_at", &m.measured_at},
        {"run_uid", &entry.run_uid}}) {
    GQF_RETURN_IF_ERROR(no_nul(column, *value));
  }
  if (m.repetitions < 0)
    return invalid_argument("column 'repetitions': {} is negative", m.repetitions);
  if (m.status != MeasureStatus::kOk) {
    if (m.is_best) {
      return invalid_argument("column 'is_best': set on a '{}' row; only an ok row can be best",
                              measure_status_name(m.status));
    }
    return ok_status();
  }
  // An ok row is a timing: the cost model and best() rank by these numbers.
  if (m.repetitions == 0)
    return invalid_argument("column 'repetitions': 0 on an ok row, which needs timed repetitions");
  auto positive = [](const char* column, double v) {
    if (std::isfinite(v) && v > 0) return ok_status();
    return invalid_argument("column '{}': {} on an ok row, which needs a finite time > 0", column,
                            v);
  };
  GQF_RETURN_IF_ERROR(positive("median_us", m.median_us));
  GQF_RETURN_IF_ERROR(positive("min_us", m.min_us));
  if (m.min_us > m.median_us) {
    return invalid_argument("column 'min_us': {} is larger than median_us {}", m.min_us,
                            m.median_us);
  }
  if (!std::isfinite(m.stddev_us) || m.stddev_us < 0) {
    return invalid_argument(
        "column 'stddev_us': {} on an ok row, which needs a finite deviation >= 0", m.stddev_us);
  }
  return ok_status();
}

std::string utc_now_iso8601() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string default_database_path() {
  std::string env = env_or_empty("GQAFORGE_DB");
  return env.empty() ? std::string("gqaforge.sqlite") : env;
}

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
    for (int waited_ms = 0; !journal_result.ok() && waited_ms < Database::kBusyTimeoutMs;
         waited_ms += 20) {
      const std::string& m = journal_result.status().message();
      if (m.find("locked") == std::string::npos && m.find("busy") == std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      journal_result = conn.query_text("PRAGMA journal_mode = WAL");
    }
    GQF_ASSIGN_OR_RETURN(std::string journal, journal_result);
    if (journal != "wal") {
      return unavailable("cannot switch '{}' to WAL mode (journal_mode is '{}')", conn.path(),
                         journal);
    }
  }
  GQF_RETURN_IF_ERROR(schema::migrate(conn));
  return conn.exec("PRAGMA foreign_keys = ON");
}

// Inspects an existing file through its read-only connection, inside one read transaction
// (one snapshot): its size against what SQLite sees, its schema, and for writers SQLite's
// integrity check. Returns the schema version. Changes nothing.
Result<int> inspect_snapshot(dbfile::Reader& reader, bool for_writing) {
  sql::Connection& conn = reader.conn;
  GQF_ASSIGN_OR_RETURN(Transaction tx, Transaction::begin(conn, Transaction::Kind::kDeferred));
  GQF_RETURN_IF_ERROR(dbfile::check_reader_size(reader));
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

Result<int> inspect_existing(dbfile::Reader& reader, bool for_writing) {
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
    const int flags = mode == OpenMode::kReadOnly ? SQLITE_OPEN_READONLY
                                                  : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
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
    GQF_ASSIGN_OR_RETURN(
        sql::Connection conn,
        sql::Connection::open(dbfile::file_uri(path, "mode=rwc"),
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, path));
    conn.set_busy_timeout(kBusyTimeoutMs);
    GQF_RETURN_IF_ERROR(prepare_writer(conn, /*memory=*/false));
    return std::unique_ptr<Database>(new Database(std::move(conn), mode, nullptr));
  }
  if (S_ISDIR(st.st_mode))
    return invalid_argument("database '{}' is a directory, not a file", path);

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
    const dbfile::SideFiles sides = dbfile::side_files(path);
    Result<dbfile::Reader> reader = dbfile::open_reader(path, force_copy);
    Result<int> version = reader.ok() ? Result<int>(0) : Result<int>(reader.status());
    if (reader.ok()) {
      reader->conn.set_busy_timeout(kBusyTimeoutMs);
      version = inspect_existing(*reader, mode != OpenMode::kReadOnly);
    }
    if (!version.ok()) {
      const bool changed = !(dbfile::side_files(path) == sides) ||
                           (reader.ok() && !reader->conn.check_unchanged().ok());
      if (attempt < kAttempts && version.status().code() == StatusCode::kUnavailable && changed)
        continue;
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
    auto db = std::unique_ptr<Database>(
        new Database(std::move(reader->conn), mode, std::move(reader->copy)));
    // A file read without locks reports its own journal mode, not the connection's.
    if (reader->kind == dbfile::ReadKind::kImmutable && wal_header) db->journal_mode_ = "wal";
    return db;
  }
  // A writer: the file passed, so reopen it read-write (never creating it).
  GQF_ASSIGN_OR_RETURN(sql::Connection conn,
                       sql::Connection::open(dbfile::file_uri(path, "mode=rw"),
                                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, path));
  conn.set_busy_timeout(kBusyTimeoutMs);
  GQF_RETURN_IF_ERROR(prepare_writer(conn, /*memory=*/false));
  return std::unique_ptr<Database>(new Database(std::move(conn), mode, nullptr));
}

Status Database::check_writable() const {
  if (mode_ == OpenMode::kReadOnly)
    return failed_precondition("database '{}' was opened read-only", path());
  return ok_status();
}

// ---- Writers ----

Result<int64_t> Database::add_run(const Environment& env, const TuneRunRecord& run) {
  GQF_RETURN_IF_ERROR(check_writable());
  const std::string key = env.key();
  if (!run.env_key.empty() && run.env_key != key) {
    return invalid_argument("run env_key '{}' does not match its environment's key '{}'",
                            run.env_key, key);
  }
  TuneRunRecord row = run;
  row.env_key = key;
  if (row.started_at.empty()) row.started_at = utc_now_iso8601();
  std::lock_guard lock(write_mu_);
  GQF_ASSIGN_OR_RETURN(Transaction tx, Transaction::begin(conn_, Transaction::Kind::kImmediate));
  GQF_RETURN_IF_ERROR(insert_environment(conn_, key, env));
  GQF_ASSIGN_OR_RETURN(int64_t id, insert_run(conn_, new_run_uid(), row));
  GQF_RETURN_IF_ERROR(tx.commit());
  return id;
}

Status Database::add_measurement(const MeasurementRecord& m) {
  GQF_RETURN_IF_ERROR(check_writable());
  GQF_RETURN_IF_ERROR(validate_measurement(m));
  MeasurementRecord row = m;
  if (row.measured_at.empty()) row.measured_at = utc_now_iso8601();
  std::lock_guard lock(write_mu_);
  GQF_ASSIGN_OR_RETURN(Transaction tx, Transaction::begin(conn_, Transaction::Kind::kImmediate));
  std::optional<int64_t> run_id;
  if (m.run_id != 0) {
    GQF_ASSIGN_OR_RETURN(Statement st, conn_.prepare("SELECT 1 FROM tune_runs WHERE id = ?"));
    st.bind(1, m.run_id);
    GQF_ASSIGN_OR_RETURN(bool found, st.step());
    if (!found) return not_found("run id {} does not exist in '{}'", m.run_id, path());
    run_id = m.run_id;
  }
  GQF_RETURN_IF_ERROR(upsert_measurement(row, run_id));
  // The row answers any claim on the variant.
  GQF_ASSIGN_OR_RETURN(Statement unclaim, conn_.prepare("DELETE FROM claims WHERE env_key = ? AND problem = ? "
                                                        "AND kernel_key = ?"));
  unclaim.bind(1, row.env_key).bind(2, row.problem.canonical()).bind(3, row.kernel_key);
  GQF_RETURN_IF_ERROR(unclaim.run());
  return tx.commit();
}

Status Database::finish_run(int64_t run_id) {
  GQF_RETURN_IF_ERROR(check_writable());
  std::lock_guard lock(write_mu_);
  GQF_ASSIGN_OR_RETURN(Transaction tx, Transaction::begin(conn_, Transaction::Kind::kImmediate));
  GQF_ASSIGN_OR_RETURN(Statement st,
                       conn_.prepare("UPDATE tune_runs SET finished_at = ? WHERE id = ?"));
  st.bind(1, utc_now_iso8601()).bind(2, run_id);
  GQF_RETURN_IF_ERROR(st.run());
  if (conn_.changes() == 0) return not_found("run id {} does not exist in '{}'", run_id, path());
  return tx.commit();
}

Status Database::mark_best(const std::string& env_key, const ProblemRecord& problem,
                           const std::string& kernel_key) {
  GQF_RETURN_IF_ERROR(check_writable());
  const std::string canonical = problem.canonical();
  std::lock_guard lock(write_mu_);
  GQF_ASSIGN_OR_RETURN(Transaction tx, Transaction::begin(conn_, Transaction::Kind::kImmediate));
  GQF_ASSIGN_OR_RETURN(Statement find,
                       conn_.prepare("SELECT id, status FROM measurements "
                                     "WHERE env_key = ? AND problem = ? AND kernel_key = ?"));
  find.bind(1, env_key).bind(2, canonical).bind(3, kernel_key);
  GQF_ASSIGN_OR_RETURN(bool found, find.step());
  if (!found) {
    return not_found("no measurement of kernel '{}' for problem '{}' in environment '{}'",
                     kernel_key, canonical, env_key);
  }
  const int64_t id = find.column_int(0);
  const std::string status = find.column_text(1);
  if (status != measure_status_name(MeasureStatus::kOk)) {
    return failed_precondition(
        "cannot mark kernel '{}' best for problem '{}': its status is '{}', not 'ok'", kernel_key,
        canonical, status);
  }
  GQF_ASSIGN_OR_RETURN(Statement clear,
                       conn_.prepare("UPDATE measurements SET is_best = 0 "
                                     "WHERE env_key = ? AND problem = ? AND is_best = 1"));
  clear.bind(1, env_key).bind(2, canonical);
  GQF_RETURN_IF_ERROR(clear.run());
  GQF_ASSIGN_OR_RETURN(Statement set,
                       conn_.prepare("UPDATE measurements SET is_best = 1 WHERE id = ?"));
  set.bind(1, id);
  GQF_RETURN_IF_ERROR(set.run());
  return tx.commit();
}

struct Database::Statements {
  std::optional<Statement> find, other_best, clear_best, upsert, run_by_uid;
};

namespace {

// The statement in `slot`, prepared on first use and reset for the next one.
Result<Statement*> prepared(sql::Connection& conn, std::optional<Statement>& slot,
                            std::string_view sql) {
  if (!slot) {
    GQF_ASSIGN_OR_RETURN(Statement st, conn.prepare(sql));
    slot = std::move(st);
  }
  slot->reset();
  return &*slot;
}

const std::string& upsert_sql() {
  static const std::string sql = [] {
    std::string cols = "problem", params = "?", updates;
    for (int i = 0; i < kMeasurementColumnCount; ++i) {
      const std::string c = kMeasurementColumns[i];
      cols += ", " + c;
      params += ", ?";
      if (c == "env_key" || c == "kernel_key") continue;
      updates += fmt::format("{}{} = excluded.{}", updates.empty() ? "" : ", ", c, c);
    }
    return fmt::format(
        "INSERT INTO measurements ({}) VALUES ({}) ON CONFLICT (env_key, problem, kernel_key) "
        "DO UPDATE SET {}",
        cols, params, updates);
  }();
  return sql;
}

}  // namespace

Result<Database::Upsert> Database::upsert_measurement(const MeasurementRecord& m,
                                                      std::optional<int64_t> run_id, bool dry_run) {
  const std::string problem = m.problem.canonical();
  static const std::string kFindSql = fmt::format(
      "SELECT {} FROM measurements WHERE env_key = ? AND problem = ? AND kernel_key = ?",
      measurement_columns(""));
  GQF_ASSIGN_OR_RETURN(Statement * find, prepared(conn_, statements_->find, kFindSql));
  find->bind(1, m.env_key).bind(2, problem).bind(3, m.kernel_key);
  GQF_ASSIGN_OR_RETURN(bool exists, find->step());
  MeasurementRecord stored;
  if (exists) {
    GQF_ASSIGN_OR_RETURN(stored, read_measurement(*find, path()));
  }
  find->reset();  // a statement left on a row would keep its read snapshot open
  if (exists && stored.measured_at > m.measured_at) return Upsert::kSkipped;

  const bool existing_best = exists && stored.is_best;
  bool is_best = m.is_best || existing_best;
  std::optional<int64_t> clear_id;
  if (m.is_best && !existing_best) {
    // Another row of the problem may hold the mark; the one measured latest keeps it.
    GQF_ASSIGN_OR_RETURN(
        Statement * other,
        prepared(conn_, statements_->other_best,
                 "SELECT id, measured_at FROM measurements WHERE env_key = ? AND problem = ? AND "
                 "is_best = 1 AND kernel_key <> ?"));
    other->bind(1, m.env_key).bind(2, problem).bind(3, m.kernel_key);
    GQF_ASSIGN_OR_RETURN(bool has_other, other->step());
    if (has_other) {
      if (other->column_text(1) > m.measured_at) {
        is_best = false;
      } else {
        clear_id = other->column_int(0);
      }
    }
    other->reset();
  }
  // A row stored already (a merge or import run again) is not rewritten.
  if (exists && same_row(stored, m, is_best, run_id)) return Upsert::kUnchanged;
  if (dry_run) return exists ? Upsert::kUpdated : Upsert::kAdded;
  if (clear_id) {
    GQF_ASSIGN_OR_RETURN(Statement * clear,
                         prepared(conn_, statements_->clear_best,
                                  "UPDATE measurements SET is_best = 0 WHERE id = ?"));
    clear->bind(1, *clear_id);
    GQF_RETURN_IF_ERROR(clear->run());
  }

  GQF_ASSIGN_OR_RETURN(Statement * st, prepared(conn_, statements_->upsert, upsert_sql()));
  const ProblemRecord& p = m.problem;
  st->bind(1, problem)
      .bind(2, m.env_key)
      .bind(3, p.family)
      .bind(4, p.n_q_heads)
      .bind(5, p.n_kv_heads);
  st->bind(6, p.head_dim).bind(7, p.dtype).bind(8, p.causal).bind(9, p.batch).bind(10, p.q_len);
  st->bind(11, p.kv_len)
      .bind(12, p.gemm_m)
      .bind(13, p.gemm_n)
      .bind(14, p.gemm_k)
      .bind(15, m.kernel_key);
  st->bind(16, m.config)
      .bind(17, measure_status_name(m.status))
      .bind(18, m.message)
      .bind(19, m.median_us);
  st->bind(20, m.min_us).bind(21, m.stddev_us).bind(22, m.repetitions).bind(23, m.max_error);
  st->bind(24, m.error_bound)
      .bind(25, m.tflops)
      .bind(26, m.tbps)
      .bind(27, m.compile_ms)
      .bind(28, m.registers);
  st->bind(29, m.shared_bytes).bind(30, m.spill_bytes).bind(31, is_best).bind(32, m.measured_at);
  if (run_id) {
    st->bind(33, *run_id);
  } else {
    st->bind_null(33);
  }
  GQF_RETURN_IF_ERROR(st->run());
  return exists ? Upsert::kUpdated : Upsert::kAdded;
}

Result<int64_t> Database::run_id_for_uid(const std::string& uid) {
  GQF_ASSIGN_OR_RETURN(Statement * st, prepared(conn_, statements_->run_by_uid,
                                                "SELECT id FROM tune_runs WHERE uid = ?"));
  st->bind(1, uid);
  GQF_ASSIGN_OR_RETURN(bool found, st->step());
  const int64_t id = found ? st->column_int(0) : 0;
  st->reset();
  return id;
}

// ---- Merging ----

// The write transactions of a merge: rows go into the open batch, which is committed after
// kMergeBatchRows rows or kMergeBatchMs, followed by a short random pause. SQLite has no queue
// for its write lock: a waiting writer polls (every 100 ms once it has waited a while), so the
// pauses must be long and irregular enough that its polls land in one of them. With about a
// quarter of the time free, at random, a tuner gets the lock within a few polls.
class Database::MergeBatch {
 public:
  explicit MergeBatch(Database& db) : db_(db), random_(std::random_device{}()) {}

  // Runs `write` inside the open batch (starting one if needed).
  template <typename Write>
  Status write(Write&& write_row) {
    if (!tx_) {
      lock_ = std::unique_lock<std::mutex>(db_.write_mu_);
      auto tx = Transaction::begin(db_.conn_, Transaction::Kind::kImmediate);
      if (!tx.ok()) {
        lock_.unlock();
        return tx.status();
      }
      tx_.emplace(std::move(tx).value());
      started_ = std::chrono::steady_clock::now();
      rows_ = 0;
    }
    GQF_RETURN_IF_ERROR(write_row());
    const auto elapsed = std::chrono::steady_clock::now() - started_;
    if (++rows_ >= kMergeBatchRows || elapsed >= std::chrono::milliseconds(kMergeBatchMs)) {
      GQF_RETURN_IF_ERROR(commit());
      std::uniform_int_distribution<int> pause_ms(kMergeBatchMs / 5, kMergeBatchMs / 2);
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random_)));
    }
    return ok_status();
  }

  // Runs `read_rows` under the connection's writer mutex (held already while a batch is open)
  // but without starting a write transaction.
  template <typename Read>
  auto read(Read&& read_rows) {
    if (lock_.owns_lock()) return read_rows();
    std::lock_guard<std::mutex> guard(db_.write_mu_);
    return read_rows();
  }

  Status finish() { return commit(); }
  int64_t transactions() const { return transactions_; }

 private:
  Status commit() {
    if (!tx_) return ok_status();
    GQF_RETURN_IF_ERROR(tx_->commit());
    tx_.reset();
    lock_.unlock();
    ++transactions_;
    return ok_status();
  }

  Database& db_;
  std::mt19937 random_;
  std::unique_lock<std::mutex> lock_;  // before tx_: the rollback runs while it is held
  std::optional<Transaction> tx_;
  std::chrono::steady_clock::time_point started_;
  int rows_ = 0;
  int64_t transactions_ = 0;
};

Status Database::merge_environment(const EnvironmentEntry& e, MergeStats& stats) {
  GQF_ASSIGN_OR_RETURN(bool added, insert_environment(conn_, e.key, e.env));
  stats.environments_added += added ? 1 : 0;
  return ok_status();
}

Status Database::merge_run(const RunEntry& r, MergeStats& stats) {
  GQF_ASSIGN_OR_RETURN(int64_t id, run_id_for_uid(r.uid));
  if (id == 0) {
    GQF_RETURN_IF_ERROR(insert_run(conn_, r.uid, r.run));
    ++stats.runs_added;
  } else if (!r.run.finished_at.empty()) {
    GQF_ASSIGN_OR_RETURN(
        Statement st,
        conn_.prepare("UPDATE tune_runs SET finished_at = ? WHERE id = ? AND finished_at = ''"));
    st.bind(1, r.run.finished_at).bind(2, id);
    GQF_RETURN_IF_ERROR(st.run());
  }
  return ok_status();
}

Status Database::merge_measurement(const MeasurementEntry& me, MergeStats& stats,
                                   MergeBatch& batch) {
  std::optional<int64_t> run_id;
  if (!me.run_uid.empty()) {
    GQF_ASSIGN_OR_RETURN(int64_t id, batch.read([&] { return run_id_for_uid(me.run_uid); }));
    if (id == 0) {
      return invalid_argument(
          "{} refers to run uid '{}', which is in neither the merged data nor '{}'",
          describe(me.record), shown(me.run_uid), path());
    }
    run_id = id;
  }
  auto count = [&stats](Upsert outcome) {
    stats.measurements_added += outcome == Upsert::kAdded ? 1 : 0;
    stats.measurements_updated += outcome == Upsert::kUpdated ? 1 : 0;
    stats.measurements_unchanged += outcome == Upsert::kUnchanged ? 1 : 0;
    stats.measurements_skipped += outcome == Upsert::kSkipped ? 1 : 0;
  };
  // A row the database holds already, or holds a later measurement of, needs no write lock:
  // merging the same data again then keeps out of other writers' way entirely.
  GQF_ASSIGN_OR_RETURN(Upsert planned, batch.read([&] {
    return upsert_measurement(me.record, run_id, /*dry_run=*/true);
  }));
  if (planned == Upsert::kUnchanged || planned == Upsert::kSkipped) {
    count(planned);
    return ok_status();
  }
  return batch.write([&]() -> Status {
    // Looked at again inside the transaction: another writer may have come first.
    GQF_ASSIGN_OR_RETURN(Upsert outcome, upsert_measurement(me.record, run_id));
    count(outcome);
    return ok_status();
  });
}

namespace {

// The error of a merge that stopped while writing, saying what is committed.
Status merge_stopped(const Status& s, const std::string& path, int64_t transactions) {
  if (transactions == 0) {
    return s.with_context(fmt::format("merging into '{}' failed; nothing was written", path));
  }
  return s.with_context(
      fmt::format("merging into '{}' stopped after {} committed batch(es); merging the same "
                  "data again completes it",
                  path, transactions));
}

}  // namespace

Result<MergeStats> Database::merge(std::span<const DbContents> parts) {
  GQF_RETURN_IF_ERROR(check_writable());
  // Everything is checked before anything is written.
  std::set<std::string> uids;
  for (const DbContents& part : parts) {
    for (const EnvironmentEntry& e : part.environments) {
      GQF_RETURN_IF_ERROR_CTX(check_entry(e), fmt::format("environment '{}'", shown(e.key)));
    }
    for (const RunEntry& r : part.runs) {
      GQF_RETURN_IF_ERROR_CTX(check_entry(r),
                              fmt::format("run '{}' started at {}", shown(r.run.command_line),
                                          shown(r.run.started_at)));
      uids.insert(r.uid);
    }
  }
  for (const DbContents& part : parts) {
    for (const MeasurementEntry& me : part.measurements) {
      GQF_RETURN_IF_ERROR_CTX(check_entry(me), describe(me.record));
      if (me.run_uid.empty() || uids.count(me.run_uid) != 0) continue;
      GQF_ASSIGN_OR_RETURN(int64_t id, run_id_for_uid(me.run_uid));
      if (id == 0) {
        return invalid_argument(
            "{} refers to run uid '{}', which is in neither the merged data nor '{}'",
            describe(me.record), shown(me.run_uid), path());
      }
      uids.insert(me.run_uid);
    }
  }
  MergeStats stats;
  MergeBatch batch(*this);
  auto write_all = [&]() -> Status {
    // Environments and runs of every part first: a measurement may refer to a run of another.
    for (const DbContents& part : parts) {
      for (const EnvironmentEntry& e : part.environments)
        GQF_RETURN_IF_ERROR(batch.write([&] { return merge_environment(e, stats); }));
      for (const RunEntry& r : part.runs)
        GQF_RETURN_IF_ERROR(batch.write([&] { return merge_run(r, stats); }));
    }
    for (const DbContents& part : parts) {
      for (const MeasurementEntry& me : part.measurements)
        GQF_RETURN_IF_ERROR(merge_measurement(me, stats, batch));
    }
    return batch.finish();
  };
  if (Status s = write_all(); !s.ok()) return merge_stopped(s, path(), batch.transactions());
  stats.transactions = batch.transactions();
  return stats;
}

Result<MergeStats> Database::merge_from(std::span<Database* const> sources) {
  GQF_RETURN_IF_ERROR(check_writable());
  MergeStats stats;
  MergeBatch batch(*this);
  auto write_all = [&]() -> Status {
    ContentVisitor heads;
    heads.environment = [&](const EnvironmentEntry& e) {
      GQF_RETURN_IF_ERROR(check_entry(e));
      return batch.write([&] { return merge_environment(e, stats); });
    };
    heads.run = [&](const RunEntry& r) {
      GQF_RETURN_IF_ERROR(check_entry(r));
      return batch.write([&] { return merge_run(r, stats); });
    };
    for (Database* source : sources) {
      GQF_RETURN_IF_ERROR_CTX(source->scan(heads), fmt::format("'{}'", source->path()));
    }
    ContentVisitor rows;
    rows.measurement = [&](const MeasurementEntry& me) {
      GQF_RETURN_IF_ERROR_CTX(check_entry(me), describe(me.record));
      return merge_measurement(me, stats, batch);
    };
    for (Database* source : sources) {
      GQF_RETURN_IF_ERROR_CTX(source->scan(rows), fmt::format("'{}'", source->path()));
    }
    return batch.finish();
  };
  if (Status s = write_all(); !s.ok()) return merge_stopped(s, path(), batch.transactions());
  stats.transactions = batch.transactions();
  return stats;
}

// ---- MeasurementSink ----

void Database::note_sink_error(const Status& status, const char* what) {
  log_error("measurement database '{}': {}: {}", path(), what, status.message());
  std::lock_guard lock(sink_mu_);
  if (sink_status_.ok()) sink_status_ = status;
}

Status Database::sink_status() const {
  std::lock_guard lock(sink_mu_);
  return sink_status_;
}

int64_t Database::begin_run(const Environment& env, const TuneRunRecord& run) {
  auto id = add_run(env, run);
  if (!id.ok()) {
    note_sink_error(id.status(), "begin_run");
    return 0;
  }
  return *id;
}

void Database::record(const MeasurementRecord& m) {
  Status s = add_measurement(m);
  if (!s.ok()) note_sink_error(s, "record");
}

void Database::end_run(int64_t run_id) {
  Status s = finish_run(run_id);
  if (!s.ok()) note_sink_error(s, "end_run");
}

std::vector<MeasurementRecord> Database::stored_rows(const std::string& env_key,
                                                     const ProblemRecord& problem) {
  auto rows = problem_rows(env_key, problem);
  if (!rows.ok()) {
    note_sink_error(rows.status(), "stored_rows");
    return {};
  }
  return *std::move(rows);
}

namespace {

double epoch_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// Whether the holder of a claim may still be measuring.
bool claim_alive(const std::string& host, int64_t pid, double claimed_at) {
  if (epoch_seconds() - claimed_at > Database::kClaimTtlS) return false;
  if (host != host_name()) return true;  // cannot look: trust the age
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

Result<Claim> Database::try_claim(const std::string& env_key, const ProblemRecord& problem,
                                  const std::string& kernel_key) {
  GQF_RETURN_IF_ERROR(check_writable());
  const std::string canonical = problem.canonical();
  std::lock_guard lock(write_mu_);
  GQF_ASSIGN_OR_RETURN(Transaction tx, Transaction::begin(conn_, Transaction::Kind::kImmediate));
  GQF_ASSIGN_OR_RETURN(Statement done, conn_.prepare("SELECT 1 FROM measurements WHERE env_key = ? AND "
                                                     "problem = ? AND kernel_key = ?"));
  done.bind(1, env_key).bind(2, canonical).bind(3, kernel_key);
  GQF_ASSIGN_OR_RETURN(bool has_row, done.step());
  if (has_row) return Claim::kDone;
  GQF_ASSIGN_OR_RETURN(Statement held, conn_.prepare("SELECT owner, host, pid, claimed_at FROM claims WHERE "
                                                     "env_key = ? AND problem = ? AND kernel_key = ?"));
  held.bind(1, env_key).bind(2, canonical).bind(3, kernel_key);
  GQF_ASSIGN_OR_RETURN(bool claimed, held.step());
  if (claimed && held.column_text(0) != claim_owner_ &&
      claim_alive(held.column_text(1), held.column_int(2), held.column_double(3))) {
    return Claim::kTaken;
  }
  GQF_ASSIGN_OR_RETURN(Statement take, conn_.prepare("INSERT OR REPLACE INTO claims (env_key, problem, kernel_key, "
                                                     "owner, host, pid, claimed_at) VALUES (?,?,?,?,?,?,?)"));
  take.bind(1, env_key).bind(2, canonical).bind(3, kernel_key).bind(4, claim_owner_).bind(5, host_name());
  take.bind(6, static_cast<int64_t>(getpid())).bind(7, epoch_seconds());
  GQF_RETURN_IF_ERROR(take.run());
  GQF_RETURN_IF_ERROR(tx.commit());
  holds_claims_ = true;
  return Claim::kGranted;
}

Claim Database::claim(const std::string& env_key, const ProblemRecord& problem, const std::string& kernel_key) {
  auto c = try_claim(env_key, problem, kernel_key);
  if (!c.ok()) {
    note_sink_error(c.status(), "claim");
    return Claim::kGranted;
  }
  return *c;
}

void Database::release_claims() {
  if (check_writable().ok()) {
    std::lock_guard lock(write_mu_);
    auto st = conn_.prepare("DELETE FROM claims WHERE owner = ?");
    if (st.ok()) {
      st->bind(1, claim_owner_);
      Status s = st->run();
      if (!s.ok()) log_warn("measurement database '{}': releasing claims: {}", path(), s.message());
    }
  }
  holds_claims_ = false;
}

std::vector<std::string> Database::measured_keys(const std::string& env_key,
                                                 const ProblemRecord& problem) {
  auto keys = find_measured_keys(env_key, problem);
  if (!keys.ok()) {
    note_sink_error(keys.status(), "measured_keys");
    return {};
  }
  return *std::move(keys);
}

// ---- Queries ----

Result<std::vector<std::string>> Database::find_measured_keys(const std::string& env_key,
                                                              const ProblemRecord& problem) {
  GQF_ASSIGN_OR_RETURN(Statement st,
                       conn_.prepare("SELECT kernel_key FROM measurements WHERE env_key = ? AND "
                                     "problem = ? ORDER BY kernel_key"));
  st.bind(1, env_key).bind(2, problem.canonical());
  std::vector<std::string> keys;
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return keys;
    keys.push_back(st.column_text(0));
  }
}

Result<std::vector<MeasurementRecord>> Database::best(const MeasurementFilter& filter) {
  WhereClause w = where_for(filter, /*with_status=*/false);
  GQF_ASSIGN_OR_RETURN(Statement st, conn_.prepare(fmt::format(
                                         "SELECT {} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION "
                                         "BY env_key, problem ORDER BY is_best DESC, "
                                         "median_us IS NULL, median_us, kernel_key) AS "
                                         "rank_in_problem FROM measurements WHERE status = 'ok'{}) "
                                         "WHERE rank_in_problem = 1 ORDER BY {}",
                                         measurement_columns(""), w.sql, kProblemOrder)));
  w.bind(st, 1);
  return read_measurements(st, path());
}

Result<std::vector<MeasurementRecord>> Database::best(const std::string& env_key,
                                                      MeasurementFilter filter) {
  filter.env_key = env_key;
  return best(filter);
}

Result<std::vector<MeasurementRecord>> Database::problem_rows(const std::string& env_key,
                                                              const ProblemRecord& problem) {
  GQF_ASSIGN_OR_RETURN(Statement st, conn_.prepare(fmt::format(
                                         "SELECT {} FROM measurements WHERE env_key = ? AND "
                                         "problem = ? ORDER BY kernel_key",
                                         measurement_columns(""))));
  st.bind(1, env_key).bind(2, problem.canonical());
  return read_measurements(st, path());
}

Result<std::vector<MeasurementRecord>> Database::measurements(const MeasurementFilter& filter) {
  WhereClause w = where_for(filter, /*with_status=*/true);
  GQF_ASSIGN_OR_RETURN(
      Statement st,
      conn_.prepare(fmt::format("SELECT {} FROM measurements WHERE 1{} ORDER BY env_key, problem, "
                                "kernel_key",
                                measurement_columns(""), w.sql)));
  w.bind(st, 1);
  return read_measurements(st, path());
}

Result<std::vector<Environment>> Database::environments() {
  GQF_ASSIGN_OR_RETURN(
      Statement st,
      conn_.prepare(fmt::format("SELECT {} FROM environments ORDER BY key", kEnvironmentColumns)));
  std::vector<Environment> envs;
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return envs;
    envs.push_back(read_environment(st).env);
  }
}

Result<std::vector<TuneRunRecord>> Database::runs() {
  GQF_ASSIGN_OR_RETURN(Statement st,
                       conn_.prepare("SELECT id, env_key, command_line, strategy, started_at, "
                                     "finished_at FROM tune_runs ORDER BY id"));
  std::vector<TuneRunRecord> runs;
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return runs;
    runs.push_back({st.column_int(0), st.column_text(1), st.column_text(2), st.column_text(3),
                    st.column_text(4), st.column_text(5)});
  }
}

Result<std::map<std::string, int64_t>> Database::count_by_status(const MeasurementFilter& filter) {
  WhereClause w = where_for(filter, /*with_status=*/true);
  GQF_ASSIGN_OR_RETURN(
      Statement st,
      conn_.prepare(fmt::format(
          "SELECT status, count(*) FROM measurements WHERE 1{} GROUP BY status ORDER BY status",
          w.sql)));
  w.bind(st, 1);
  std::map<std::string, int64_t> counts;
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return counts;
    counts[st.column_text(0)] = st.column_int(1);
  }
}

Result<DbInfo> Database::info() {
  GQF_ASSIGN_OR_RETURN(std::optional<Transaction> tx, read_transaction());
  DbInfo info;
  info.path = path();
  GQF_ASSIGN_OR_RETURN(int64_t version, conn_.query_int("PRAGMA user_version"));
  info.schema_version = static_cast<int>(version);
  GQF_ASSIGN_OR_RETURN(info.journal_mode, conn_.query_text("PRAGMA journal_mode"));
  if (!journal_mode_.empty()) info.journal_mode = journal_mode_;
  GQF_ASSIGN_OR_RETURN(info.environments, conn_.query_int("SELECT count(*) FROM environments"));
  GQF_ASSIGN_OR_RETURN(info.runs, conn_.query_int("SELECT count(*) FROM tune_runs"));
  GQF_ASSIGN_OR_RETURN(info.unfinished_runs,
                       conn_.query_int("SELECT count(*) FROM tune_runs WHERE finished_at = ''"));
  GQF_ASSIGN_OR_RETURN(info.measurements, conn_.query_int("SELECT count(*) FROM measurements"));
  GQF_ASSIGN_OR_RETURN(info.by_status, count_by_status(MeasurementFilter{}));
  GQF_ASSIGN_OR_RETURN(Statement st,
                       conn_.prepare("SELECT family, count(*) FROM measurements GROUP BY family "
                                     "ORDER BY family"));
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) break;
    info.by_family[st.column_text(0)] = st.column_int(1);
  }
  return info;
}

Result<std::optional<Transaction>> Database::read_transaction() {
  if (snapshot_) return std::optional<Transaction>();
  GQF_ASSIGN_OR_RETURN(Transaction tx, Transaction::begin(conn_, Transaction::Kind::kDeferred));
  return std::optional<Transaction>(std::move(tx));
}

Status Database::begin_snapshot() {
  if (snapshot_) return failed_precondition("'{}' already holds a read snapshot", path());
  GQF_ASSIGN_OR_RETURN(Transaction tx, Transaction::begin(conn_, Transaction::Kind::kDeferred));
  // BEGIN alone takes nothing; the first read fixes the snapshot.
  GQF_RETURN_IF_ERROR(conn_.query_int("SELECT count(*) FROM sqlite_master"));
  snapshot_.emplace(std::move(tx));
  return ok_status();
}

Status Database::end_snapshot() {
  if (!snapshot_) return ok_status();
  Status s = snapshot_->commit();
  snapshot_.reset();
  return s;
}

Status Database::scan(const ContentVisitor& visitor) {
  // One read transaction, so the three tables come from one snapshot.
  GQF_ASSIGN_OR_RETURN(std::optional<Transaction> tx, read_transaction());
  if (visitor.environment) {
    GQF_ASSIGN_OR_RETURN(Statement st,
                         conn_.prepare(fmt::format("SELECT {} FROM environments ORDER BY key",
                                                   kEnvironmentColumns)));
    while (true) {
      GQF_ASSIGN_OR_RETURN(bool row, st.step());
      if (!row) break;
      GQF_RETURN_IF_ERROR(visitor.environment(read_environment(st)));
    }
  }
  if (visitor.run) {
    GQF_ASSIGN_OR_RETURN(
        Statement st, conn_.prepare("SELECT uid, id, env_key, command_line, strategy, started_at, "
                                    "finished_at FROM tune_runs ORDER BY started_at, uid"));
    while (true) {
      GQF_ASSIGN_OR_RETURN(bool row, st.step());
      if (!row) break;
      GQF_RETURN_IF_ERROR(visitor.run({st.column_text(0),
                                       {st.column_int(1), st.column_text(2), st.column_text(3),
                                        st.column_text(4), st.column_text(5), st.column_text(6)}}));
    }
  }
  if (visitor.measurement) {
    GQF_ASSIGN_OR_RETURN(
        Statement st, conn_.prepare(fmt::format("SELECT {}, COALESCE(r.uid, '') FROM measurements "
                                                "m LEFT JOIN tune_runs r ON r.id = m.run_id "
                                                "ORDER BY m.env_key, m.problem, m.kernel_key",
                                                measurement_columns("m."))));
    while (true) {
      GQF_ASSIGN_OR_RETURN(bool row, st.step());
      if (!row) break;
      GQF_ASSIGN_OR_RETURN(MeasurementRecord m, read_measurement(st, path()));
      GQF_RETURN_IF_ERROR(
          visitor.measurement({st.column_text(kMeasurementColumnCount), std::move(m)}));
    }
  }
  if (tx) GQF_RETURN_IF_ERROR(tx->commit());
  return ok_status();
}

Result<DbContents> Database::contents() {
  DbContents out;
  ContentVisitor collect;
  collect.environment = [&](const EnvironmentEntry& e) {
    out.environments.push_back(e);
    return ok_status();
  };
  collect.run = [&](const RunEntry& r) {
    out.runs.push_back(r);
    return ok_status();
  };
  collect.measurement = [&](const MeasurementEntry& m) {
    out.measurements.push_back(m);
    return ok_status();
  };
  GQF_RETURN_IF_ERROR(scan(collect));
  return out;
}

Status Database::check_contents() {
  ContentVisitor check;
  check.environment = [&](const EnvironmentEntry& e) {
    Status s = check_entry(e);
    if (s.ok()) return s;
    return s.with_context(fmt::format("'{}': environment '{}'", path(), shown(e.key)));
  };
  check.run = [&](const RunEntry& r) {
    Status s = check_entry(r);
    if (s.ok()) return s;
    return s.with_context(fmt::format("'{}': run '{}' started at {}", path(),
                                      shown(r.run.command_line), shown(r.run.started_at)));
  };
  check.measurement = [&](const MeasurementEntry& m) {
    Status s = check_entry(m);
    if (s.ok()) return s;
    return s.with_context(fmt::format("'{}': {}", path(), describe(m.record)));
  };
  return scan(check);
}

Result<std::string> Database::integrity_check() {
  GQF_ASSIGN_OR_RETURN(Statement st, conn_.prepare("PRAGMA integrity_check"));
  std::string report;
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return report;
    if (!report.empty()) report += "\n";
    report += st.column_text(0);
  }
}

}  // namespace gqaforge
