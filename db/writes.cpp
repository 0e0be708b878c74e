// Database: the writers, the MeasurementSink methods and the claims of concurrent tuners.
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
#include "core/time.h"
#include "db/reader.h"
#include "db/rows.h"
#include "db/schema.h"

namespace gqaforge::db {
using namespace detail;
using sql::Statement;
using sql::Transaction;

// ---- Writers ----

Result<int64_t> Database::add_run(const Environment& env, const TuneRunRecord& run) {
  GQF_RETURN_IF_ERROR(check_writable());
  const std::string key = env.key();
  if (!run.env_key.empty() && run.env_key != key) {
    return invalid_argument("run env_key '{}' does not match its environment's key '{}'", run.env_key, key);
  }
  TuneRunRecord row = run;
  row.env_key = key;
  if (row.started_at.empty()) row.started_at = utc_timestamp();
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
  if (row.measured_at.empty()) row.measured_at = utc_timestamp();
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
  GQF_ASSIGN_OR_RETURN(Statement st, conn_.prepare("UPDATE tune_runs SET finished_at = ? WHERE id = ?"));
  st.bind(1, utc_timestamp()).bind(2, run_id);
  GQF_RETURN_IF_ERROR(st.run());
  if (conn_.changes() == 0) return not_found("run id {} does not exist in '{}'", run_id, path());
  return tx.commit();
}

Status Database::mark_best(const std::string& env_key, const ProblemRecord& problem, const std::string& kernel_key) {
  GQF_RETURN_IF_ERROR(check_writable());
  const std::string canonical = problem.canonical();
  std::lock_guard lock(write_mu_);
  GQF_ASSIGN_OR_RETURN(Transaction tx, Transaction::begin(conn_, Transaction::Kind::kImmediate));
  GQF_ASSIGN_OR_RETURN(Statement find, conn_.prepare("SELECT id, status FROM measurements "
                                                     "WHERE env_key = ? AND problem = ? AND kernel_key = ?"));
  find.bind(1, env_key).bind(2, canonical).bind(3, kernel_key);
  GQF_ASSIGN_OR_RETURN(bool found, find.step());
  if (!found) {
    return not_found("no measurement of kernel '{}' for problem '{}' in environment '{}'", kernel_key, canonical,
                     env_key);
  }
  const int64_t id = find.column_int(0);
  const std::string status = find.column_text(1);
  if (status != measure_status_name(MeasureStatus::kOk)) {
    return failed_precondition("cannot mark kernel '{}' best for problem '{}': its status is '{}', not 'ok'",
                               kernel_key, canonical, status);
  }
  GQF_ASSIGN_OR_RETURN(Statement clear, conn_.prepare("UPDATE measurements SET is_best = 0 "
                                                      "WHERE env_key = ? AND problem = ? AND is_best = 1"));
  clear.bind(1, env_key).bind(2, canonical);
  GQF_RETURN_IF_ERROR(clear.run());
  GQF_ASSIGN_OR_RETURN(Statement set, conn_.prepare("UPDATE measurements SET is_best = 1 WHERE id = ?"));
  set.bind(1, id);
  GQF_RETURN_IF_ERROR(set.run());
  return tx.commit();
}

namespace {

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

Result<Database::Upsert> Database::upsert_measurement(const MeasurementRecord& m, std::optional<int64_t> run_id,
                                                      bool dry_run) {
  const std::string problem = m.problem.canonical();
  static const std::string kFindSql = fmt::format(
      "SELECT {} FROM measurements WHERE env_key = ? AND problem = ? AND kernel_key = ?", measurement_columns(""));
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
    GQF_ASSIGN_OR_RETURN(Statement * other,
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
                         prepared(conn_, statements_->clear_best, "UPDATE measurements SET is_best = 0 WHERE id = ?"));
    clear->bind(1, *clear_id);
    GQF_RETURN_IF_ERROR(clear->run());
  }

  GQF_ASSIGN_OR_RETURN(Statement * st, prepared(conn_, statements_->upsert, upsert_sql()));
  const ProblemRecord& p = m.problem;
  st->bind(1, problem).bind(2, m.env_key).bind(3, p.family).bind(4, p.n_q_heads).bind(5, p.n_kv_heads);
  st->bind(6, p.head_dim).bind(7, p.dtype).bind(8, p.causal).bind(9, p.batch).bind(10, p.q_len);
  st->bind(11, p.kv_len).bind(12, p.gemm_m).bind(13, p.gemm_n).bind(14, p.gemm_k).bind(15, m.kernel_key);
  st->bind(16, m.config).bind(17, measure_status_name(m.status)).bind(18, m.message).bind(19, m.median_us);
  st->bind(20, m.min_us).bind(21, m.stddev_us).bind(22, m.repetitions).bind(23, m.max_error);
  st->bind(24, m.error_bound).bind(25, m.tflops).bind(26, m.tbps).bind(27, m.compile_ms).bind(28, m.registers);
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
  GQF_ASSIGN_OR_RETURN(Statement * st,
                       prepared(conn_, statements_->run_by_uid, "SELECT id FROM tune_runs WHERE uid = ?"));
  st->bind(1, uid);
  GQF_ASSIGN_OR_RETURN(bool found, st->step());
  const int64_t id = found ? st->column_int(0) : 0;
  st->reset();
  return id;
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

std::vector<MeasurementRecord> Database::stored_rows(const std::string& env_key, const ProblemRecord& problem) {
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
                                  const std::string& kernel_key, MeasurementRecord* row) {
  GQF_RETURN_IF_ERROR(check_writable());
  const std::string canonical = problem.canonical();
  std::lock_guard lock(write_mu_);
  GQF_ASSIGN_OR_RETURN(Transaction tx, Transaction::begin(conn_, Transaction::Kind::kImmediate));
  GQF_ASSIGN_OR_RETURN(Statement done, conn_.prepare(fmt::format("SELECT {} FROM measurements WHERE env_key = ? AND "
                                                                 "problem = ? AND kernel_key = ?",
                                                                 measurement_columns(""))));
  done.bind(1, env_key).bind(2, canonical).bind(3, kernel_key);
  GQF_ASSIGN_OR_RETURN(bool has_row, done.step());
  if (has_row) {
    if (row != nullptr) {
      GQF_ASSIGN_OR_RETURN(*row, read_measurement(done, path()));
    }
    return Claim::kDone;
  }
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

Claim Database::claim(const std::string& env_key, const ProblemRecord& problem, const std::string& kernel_key,
                      MeasurementRecord* row) {
  auto c = try_claim(env_key, problem, kernel_key, row);
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

std::vector<std::string> Database::measured_keys(const std::string& env_key, const ProblemRecord& problem) {
  auto keys = find_measured_keys(env_key, problem);
  if (!keys.ok()) {
    note_sink_error(keys.status(), "measured_keys");
    return {};
  }
  return *std::move(keys);
}

}  // namespace gqaforge::db
