// Database: the queries (best rows, filters, counts, info, snapshots and scans).
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

// ---- Queries ----

Result<std::vector<std::string>> Database::find_measured_keys(const std::string& env_key,
                                                              const ProblemRecord& problem) {
  GQF_ASSIGN_OR_RETURN(Statement st, conn_.prepare("SELECT kernel_key FROM measurements WHERE env_key = ? AND "
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
  GQF_ASSIGN_OR_RETURN(Statement st,
                       conn_.prepare(fmt::format("SELECT {} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION "
                                                 "BY env_key, problem ORDER BY is_best DESC, "
                                                 "median_us IS NULL, median_us, kernel_key) AS "
                                                 "rank_in_problem FROM measurements WHERE status = 'ok'{}) "
                                                 "WHERE rank_in_problem = 1 ORDER BY {}",
                                                 measurement_columns(""), w.sql, kProblemOrder)));
  w.bind(st, 1);
  return read_measurements(st, path());
}

Result<std::vector<MeasurementRecord>> Database::best(const std::string& env_key, MeasurementFilter filter) {
  filter.env_key = env_key;
  return best(filter);
}

Result<std::vector<MeasurementRecord>> Database::problem_rows(const std::string& env_key,
                                                              const ProblemRecord& problem) {
  GQF_ASSIGN_OR_RETURN(Statement st, conn_.prepare(fmt::format("SELECT {} FROM measurements WHERE env_key = ? AND "
                                                               "problem = ? ORDER BY kernel_key",
                                                               measurement_columns(""))));
  st.bind(1, env_key).bind(2, problem.canonical());
  return read_measurements(st, path());
}

Result<std::vector<MeasurementRecord>> Database::measurements(const MeasurementFilter& filter) {
  WhereClause w = where_for(filter, /*with_status=*/true);
  GQF_ASSIGN_OR_RETURN(Statement st,
                       conn_.prepare(fmt::format("SELECT {} FROM measurements WHERE 1{} ORDER BY env_key, problem, "
                                                 "kernel_key",
                                                 measurement_columns(""), w.sql)));
  w.bind(st, 1);
  return read_measurements(st, path());
}

Result<std::vector<Environment>> Database::environments() {
  GQF_ASSIGN_OR_RETURN(Statement st,
                       conn_.prepare(fmt::format("SELECT {} FROM environments ORDER BY key", kEnvironmentColumns)));
  std::vector<Environment> envs;
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return envs;
    envs.push_back(read_environment(st).env);
  }
}

Result<std::vector<TuneRunRecord>> Database::runs() {
  GQF_ASSIGN_OR_RETURN(Statement st, conn_.prepare("SELECT id, env_key, command_line, strategy, started_at, "
                                                   "finished_at FROM tune_runs ORDER BY id"));
  std::vector<TuneRunRecord> runs;
  while (true) {
    GQF_ASSIGN_OR_RETURN(bool row, st.step());
    if (!row) return runs;
    runs.push_back({st.column_int(0), st.column_text(1), st.column_text(2), st.column_text(3), st.column_text(4),
                    st.column_text(5)});
  }
}

Result<std::map<std::string, int64_t>> Database::count_by_status(const MeasurementFilter& filter) {
  WhereClause w = where_for(filter, /*with_status=*/true);
  GQF_ASSIGN_OR_RETURN(
      Statement st, conn_.prepare(fmt::format(
                        "SELECT status, count(*) FROM measurements WHERE 1{} GROUP BY status ORDER BY status", w.sql)));
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
  GQF_ASSIGN_OR_RETURN(info.unfinished_runs, conn_.query_int("SELECT count(*) FROM tune_runs WHERE finished_at = ''"));
  GQF_ASSIGN_OR_RETURN(info.measurements, conn_.query_int("SELECT count(*) FROM measurements"));
  GQF_ASSIGN_OR_RETURN(info.by_status, count_by_status(MeasurementFilter{}));
  GQF_ASSIGN_OR_RETURN(Statement st, conn_.prepare("SELECT family, count(*) FROM measurements GROUP BY family "
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
                         conn_.prepare(fmt::format("SELECT {} FROM environments ORDER BY key", kEnvironmentColumns)));
    while (true) {
      GQF_ASSIGN_OR_RETURN(bool row, st.step());
      if (!row) break;
      GQF_RETURN_IF_ERROR(visitor.environment(read_environment(st)));
    }
  }
  if (visitor.run) {
    GQF_ASSIGN_OR_RETURN(Statement st, conn_.prepare("SELECT uid, id, env_key, command_line, strategy, started_at, "
                                                     "finished_at FROM tune_runs ORDER BY started_at, uid"));
    while (true) {
      GQF_ASSIGN_OR_RETURN(bool row, st.step());
      if (!row) break;
      GQF_RETURN_IF_ERROR(visitor.run({st.column_text(0),
                                       {st.column_int(1), st.column_text(2), st.column_text(3), st.column_text(4),
                                        st.column_text(5), st.column_text(6)}}));
    }
  }
  if (visitor.measurement) {
    GQF_ASSIGN_OR_RETURN(Statement st, conn_.prepare(fmt::format("SELECT {}, COALESCE(r.uid, '') FROM measurements "
                                                                 "m LEFT JOIN tune_runs r ON r.id = m.run_id "
                                                                 "ORDER BY m.env_key, m.problem, m.kernel_key",
                                                                 measurement_columns("m."))));
    while (true) {
      GQF_ASSIGN_OR_RETURN(bool row, st.step());
      if (!row) break;
      GQF_ASSIGN_OR_RETURN(MeasurementRecord m, read_measurement(st, path()));
      GQF_RETURN_IF_ERROR(visitor.measurement({st.column_text(kMeasurementColumnCount), std::move(m)}));
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
    return s.with_context(
        fmt::format("'{}': run '{}' started at {}", path(), shown(r.run.command_line), shown(r.run.started_at)));
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

}  // namespace gqaforge::db
