// The measurement database: one SQLite file (WAL, busy timeout, versioned schema) that stores
// environments, tuning runs and every measurement, implements the tune loop's
// MeasurementSink, and answers the queries that resuming, libraries and the cost model need.
//
// Uniqueness and re-measurement policy: a measurement is identified by
// (env_key, problem canonical text, kernel_key); storing it again replaces the row when the new
// row's measured_at is the same or later (the latest measurement wins; an older one arriving
// through import/merge is skipped, and one identical to the stored row is left alone). A
// re-measurement keeps the row's is_best mark. At most one row per (env_key, problem) has
// is_best set: marking a row best clears the others, and when two sources disagree the best
// mark measured latest wins.
//
// Opening: every existing file is first inspected through a read-only connection that changes
// nothing (db/reader.h): its header, its size against what SQLite sees (the WAL included, so
// a checkpoint in progress or a WAL left by a full disk is no reason to refuse it), its schema,
// and for writers SQLite's integrity check. Only a file that passes is reopened read-write, and
// only by writers; a refused file, its -wal and its -shm stay byte-identical.
//
// Each tuner write is its own BEGIN IMMEDIATE transaction, so an interrupted process leaves
// every row it recorded intact and its run with an empty finished_at. Merges and imports write
// in short batches (see merge()), so that a tuner writing the same file never waits long.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "records/records.h"
#include "core/status.h"
#include "db/sqlite.h"

namespace gqaforge::db {

/// How Database::open treats the file.
enum class OpenMode {
  kReadWrite,  // create the file if missing, migrate an older schema
  kExisting,   // like kReadWrite, but the file must exist
  kReadOnly,   // the file must exist and be at the current schema. Opened read-only for
               // real: works in a read-only directory and on another user's file, never writes
               // the file or its -wal, and creates or removes no file next to it
};

/// Row filter for queries; a zero or empty field matches anything.
struct MeasurementFilter {
  std::string family;  // "decode", "prefill", ...
  int n_q_heads = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  std::string dtype;  // "bf16", "fp16"
  int64_t batch = 0;
  int64_t kv_len = 0;
  std::string env_key;                  // Environment::key()
  std::optional<MeasureStatus> status;  // measurements()/counts only; best() always uses ok rows
};

/// An environment with the key it is stored under (normally env.key()).
struct EnvironmentEntry {
  std::string key;
  Environment env;
};

/// A tuning run together with the random uid that identifies it across database files.
struct RunEntry {
  std::string uid;
  TuneRunRecord run;  // run.id is local to the file it came from
};

/// A measurement with the uid of its run ("" for none) instead of a file-local run id.
struct MeasurementEntry {
  std::string run_uid;
  MeasurementRecord record;  // record.run_id is ignored when merging
};

/// Everything a database holds, in file-independent form: what export writes, import reads
/// and merge combines. contents() returns it sorted (environments by key, runs by
/// (started_at, uid), measurements by (env_key, problem, kernel_key)).
struct DbContents {
  std::vector<EnvironmentEntry> environments;
  std::vector<RunEntry> runs;
  std::vector<MeasurementEntry> measurements;
};

/// What a merge/import did.
struct MergeStats {
  int64_t environments_added = 0;
  int64_t runs_added = 0;
  int64_t measurements_added = 0;
  int64_t measurements_updated = 0;    // replaced by a same-or-later, different measurement
  int64_t measurements_unchanged = 0;  // the database already held this very row: not rewritten
  int64_t measurements_skipped = 0;    // the database already held a later one
  int64_t transactions = 0;            // write transactions (batches) committed
};

/// Callbacks for Database::scan(), each called once per row in contents() order; an error
/// stops the scan and is returned by it. An empty function skips that table.
struct ContentVisitor {
  std::function<Status(const EnvironmentEntry&)> environment;
  std::function<Status(const RunEntry&)> run;
  std::function<Status(const MeasurementEntry&)> measurement;
};

/// The checks every row arriving through import or merge must pass, whatever its source: no
/// NUL byte in any text field, no empty key, repetitions >= 0, and on ok rows repetitions > 0,
/// finite positive median_us and min_us (min_us <= median_us) and a finite non-negative
/// stddev_us; a best mark only on an ok row. The message names the column and the value
/// ("column 'median_us': ..."); callers put the source and the line or row in front.
Status check_entry(const EnvironmentEntry& e);
Status check_entry(const RunEntry& r);
Status check_entry(const MeasurementEntry& m);

/// Summary of a database for `gqaforge db info`.
struct DbInfo {
  std::string path;
  int schema_version = 0;
  std::string journal_mode;  // "wal" for files, "memory" for :memory:
  int64_t environments = 0;
  int64_t runs = 0;
  int64_t unfinished_runs = 0;  // finished_at empty: running or interrupted
  int64_t measurements = 0;
  std::map<std::string, int64_t> by_status;  // status name -> rows
  std::map<std::string, int64_t> by_family;  // family -> rows
};

/// The SQLite measurement database. One connection; the MeasurementSink methods and the other
/// writers may be called from several threads (they serialize), queries from one thread at a
/// time. Several processes may open the same file.
class Database final : public MeasurementSink {
 public:
  /// Busy timeout: how long a writer waits for another process's write lock.
  static constexpr int kBusyTimeoutMs = 10000;

  /// Opens (and, unless read-only, creates or migrates) the database at `path`; ":memory:"
  /// gives a private in-memory database. A file that is not a gqaforge database, is truncated
  /// or corrupt (for writers: fails SQLite's integrity check, whose first complaint is
  /// quoted), or comes from a newer schema is refused with the path and the reason, and it and
  /// its -wal and -shm are left byte-identical.
  static Result<std::unique_ptr<Database>> open(const std::string& path, OpenMode mode = OpenMode::kReadWrite);

  /// Releases this connection's claims (best effort).
  ~Database() override;

  /// The path given to open().
  const std::string& path() const { return conn_.path(); }
  bool read_only() const { return mode_ == OpenMode::kReadOnly; }

  // ---- Writers (each one transaction) ----

  /// Records `env` (deduplicated by key; the first row stored for a key is kept) and starts a
  /// run for it; run.env_key must be empty or env.key(). An empty started_at is set to now.
  /// Returns the new run id.
  Result<int64_t> add_run(const Environment& env, const TuneRunRecord& run);
  /// Stores one measurement (see the policy above). run_id 0 = no run; an empty measured_at
  /// is set to now; is_best = true also clears the mark from the problem's other rows.
  Status add_measurement(const MeasurementRecord& m);
  /// Sets the run's finished_at to now.
  Status finish_run(int64_t run_id);
  /// Marks the ok row (env_key, problem, kernel_key) as the best of its problem.
  Status mark_best(const std::string& env_key, const ProblemRecord& problem, const std::string& kernel_key);
  /// Merges `parts` into this database: environments by key, runs by uid (finished_at filled
  /// in if it was empty), measurements by the uniqueness rule; a row stored already (or
  /// superseded by a later one) is only looked at, without taking the write lock. Every row is
  /// checked first (check_entry, and run references against `parts` and this database); on any
  /// error nothing is written. The rows then go in batches, each its own short write transaction
  /// (at most kMergeBatchRows rows or about kMergeBatchMs), with a random pause of 20-50 ms
  /// between batches, in which other writers get the lock: a tuner writing the same file waits a
  /// fraction of a second, never its busy timeout. A merge stopped part-way (killed, disk full)
  /// leaves the batches before it committed; merging is idempotent, so running it again completes
  /// it.
  Result<MergeStats> merge(std::span<const DbContents> parts);
  /// Like merge(), streaming the rows of `sources` (opened read-only, each inside
  /// begin_snapshot(), and checked by the caller with check_contents() in that snapshot, so
  /// that nothing is written when one is bad) without holding them in memory.
  Result<MergeStats> merge_from(std::span<Database* const> sources);

  /// Most rows per merge batch, and the time after which a batch is committed early.
  static constexpr int kMergeBatchRows = 2000;
  static constexpr int kMergeBatchMs = 100;

  // ---- MeasurementSink (errors are logged and kept in sink_status()) ----

  int64_t begin_run(const Environment& env, const TuneRunRecord& run) override;  // 0 on error
  void record(const MeasurementRecord& m) override;
  void end_run(int64_t run_id) override;
  /// Empty on error, which sink_status() then reports (the tune loop stops).
  std::vector<MeasurementRecord> stored_rows(const std::string& env_key, const ProblemRecord& problem) override;
  /// The first error a sink method hit, ok if none.
  Status sink_status() const override;
  /// Claims (env_key, problem, kernel_key) for this connection. Taken: another connection's
  /// claim whose holder lives (same host: its process exists; another host: claimed less than
  /// kClaimTtlS ago). Done: the variant has a row (returned in `row`). A stale claim is taken over. Errors go to
  /// sink_status() and grant the claim (the tune loop then stops on the error).
  Claim claim(const std::string& env_key, const ProblemRecord& problem, const std::string& kernel_key,
              MeasurementRecord* row) override;
  /// Deletes this connection's claims.
  void release_claims() override;
  /// Claims older than this are stale whoever holds them: no measurement takes that long.
  static constexpr double kClaimTtlS = 1800;
  /// find_measured_keys(), empty on error (kept in sink_status()).
  std::vector<std::string> measured_keys(const std::string& env_key, const ProblemRecord& problem);

  // ---- Queries ----

  /// Kernel keys with a row for `problem` in `env_key`, any status (a failed variant would
  /// fail again), sorted.
  Result<std::vector<std::string>> find_measured_keys(const std::string& env_key, const ProblemRecord& problem);
  /// Best ok row per (env_key, problem) among the rows matching `filter`: the is_best row if
  /// any, else the lowest median_us (ties: smallest kernel_key). Sorted by env, then problem.
  Result<std::vector<MeasurementRecord>> best(const MeasurementFilter& filter);
  /// best() restricted to `env_key` ("" = all environments).
  Result<std::vector<MeasurementRecord>> best(const std::string& env_key, MeasurementFilter filter);
  /// Every row of `problem` in `env_key`, any status, sorted by kernel_key.
  Result<std::vector<MeasurementRecord>> problem_rows(const std::string& env_key, const ProblemRecord& problem);
  /// Rows matching `filter`, sorted by (env_key, problem, kernel_key).
  Result<std::vector<MeasurementRecord>> measurements(const MeasurementFilter& filter);
  /// Environments sorted by key.
  Result<std::vector<Environment>> environments();
  /// Runs sorted by id.
  Result<std::vector<TuneRunRecord>> runs();
  /// Rows per status name among the rows matching `filter`.
  Result<std::map<std::string, int64_t>> count_by_status(const MeasurementFilter& filter);
  Result<DbInfo> info();
  /// Everything, sorted, in file-independent form. Holds it all in memory; export and merge
  /// stream it with scan() instead.
  Result<DbContents> contents();
  /// Calls `visitor` for every environment, run and measurement, in contents() order, from one
  /// read snapshot, one row in memory at a time.
  Status scan(const ContentVisitor& visitor);
  /// Checks every row with check_entry() (one scan); errors name this file and the row.
  Status check_contents();
  /// Starts a read transaction that every query of this object shares until end_snapshot():
  /// several scans then see the same rows even while other processes write the file.
  Status begin_snapshot();
  Status end_snapshot();
  /// PRAGMA integrity_check: "ok" or SQLite's list of problems.
  Result<std::string> integrity_check();

  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

 private:
  enum class Upsert { kAdded, kUpdated, kUnchanged, kSkipped };
  class MergeBatch;   // database.cpp: the batched write transactions of merge()
  struct Statements;  // database.cpp: prepared statements of the writers

  Database(sql::Connection conn, OpenMode mode, std::shared_ptr<void> keep_alive);
  Result<Claim> try_claim(const std::string& env_key, const ProblemRecord& problem, const std::string& kernel_key,
                          MeasurementRecord* row);
  Status check_writable() const;
  // Stores `m` by the uniqueness rule; with `dry_run` only says what storing would do (a read).
  Result<Upsert> upsert_measurement(const MeasurementRecord& m, std::optional<int64_t> run_id, bool dry_run = false);
  Result<int64_t> run_id_for_uid(const std::string& uid);
  // Write one row of a merge (the caller holds the batch's transaction).
  Status merge_environment(const EnvironmentEntry& e, MergeStats& stats);
  Status merge_run(const RunEntry& r, MergeStats& stats);
  // Looks first, without the write lock, and writes through `batch` only a row that changes.
  Status merge_measurement(const MeasurementEntry& me, MergeStats& stats, MergeBatch& batch);
  void note_sink_error(const Status& status, const char* what);
  // A read transaction for one query, or none when begin_snapshot() holds one.
  Result<std::optional<sql::Transaction>> read_transaction();

  std::shared_ptr<void> keep_alive_;  // what the connection reads from (a private copy); first,
                                      // so that it is destroyed after the connection
  sql::Connection conn_;
  OpenMode mode_;
  std::unique_ptr<Statements> statements_;  // guarded by write_mu_
  std::optional<sql::Transaction> snapshot_;
  std::string journal_mode_;    // what info() reports when the connection's mode is not the file's
  std::mutex write_mu_;         // serializes writers sharing this connection
  mutable std::mutex sink_mu_;  // guards sink_status_
  Status sink_status_;
  std::string claim_owner_;  // host:pid:random, unique to this connection
  bool holds_claims_ = false;
};

}  // namespace gqaforge::db
