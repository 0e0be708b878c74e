// Internal to db/: the row helpers the parts of Database share (column lists, row readers,
// filters, the checks of a measurement, inserts of environments and runs). Users go through
// Database.
#pragma once

#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "db/database.h"
#include "db/sqlite.h"

namespace gqaforge::db::detail {

// Measurement columns in the order read_measurement() expects them.
inline constexpr const char* kMeasurementColumns[] = {
    "env_key", "family",     "n_q_heads", "n_kv_heads",   "head_dim",    "dtype",      "causal",      "batch",
    "q_len",   "kv_len",     "gemm_m",    "gemm_n",       "gemm_k",      "kernel_key", "config",      "status",
    "message", "median_us",  "min_us",    "stddev_us",    "repetitions", "max_error",  "error_bound", "tflops",
    "tbps",    "compile_ms", "registers", "shared_bytes", "spill_bytes", "is_best",    "measured_at", "run_id"};
inline constexpr int kMeasurementColumnCount = static_cast<int>(std::size(kMeasurementColumns));

inline constexpr const char* kEnvironmentColumns =
    "key, gpu_name, gpu_uuid, sm_count, cc_major, cc_minor, sm_clock_mhz, mem_clock_mhz, "
    "memory_bytes, "
    "driver_version, nvrtc_version, codegen_version, gqaforge_commit, build_type, host, codegen_hash";

// Sort order of problems in query results: environment, then the problem fields.
inline constexpr const char* kProblemOrder =
    "env_key, family, n_q_heads, n_kv_heads, head_dim, dtype, causal, batch, q_len, kv_len, "
    "gemm_m, "
    "gemm_n, gemm_k, kernel_key";

// "p.env_key, p.family, ..." for a table alias `prefix`.
/// "p.env_key, p.family, ..." for a table alias `prefix`.
std::string measurement_columns(const std::string& prefix);
/// The measurement of the current row of `st` (columns as kMeasurementColumns).
Result<MeasurementRecord> read_measurement(const sql::Statement& st, const std::string& path);
/// Every remaining row of `st`, read with read_measurement().
Result<std::vector<MeasurementRecord>> read_measurements(sql::Statement& st, const std::string& path);
/// The environment of the current row of `st` (columns as kEnvironmentColumns).
EnvironmentEntry read_environment(const sql::Statement& st);

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
  void bind(sql::Statement& st, int first) const {
    for (const auto& a : args) {
      if (std::holds_alternative<int64_t>(a)) {
        st.bind(first++, std::get<int64_t>(a));
      } else {
        st.bind(first++, std::get<std::string>(a));
      }
    }
  }
};

WhereClause where_for(const MeasurementFilter& f, bool with_status);

/// The fields every stored measurement needs.
Status validate_measurement(const MeasurementRecord& m);
/// A value for a message: escaped and cut short.
std::string shown(std::string_view v);
/// Refuses a NUL byte in a text column.
Status no_nul(const char* column, const std::string& value);
/// "kernel K of problem P in environment E", for messages.
std::string describe(const MeasurementRecord& m);
/// Equal, NaN equal to NaN.
bool same_double(double a, double b);
/// Whether `stored` already is `m` (with that best mark and run): a merge then rewrites nothing.
bool same_row(const MeasurementRecord& stored, const MeasurementRecord& m, bool is_best, std::optional<int64_t> run_id);
/// A random run uid (32 hex digits).
std::string new_run_uid();
/// Inserts the environment unless its key is present; true when a row was added.
Result<bool> insert_environment(sql::Connection& conn, const std::string& key, const Environment& e);
/// Inserts a run; its new id.
Result<int64_t> insert_run(sql::Connection& conn, const std::string& uid, const TuneRunRecord& run);

/// The statement in `slot`, prepared on first use and reset for the next one.
Result<sql::Statement*> prepared(sql::Connection& conn, std::optional<sql::Statement>& slot, std::string_view sql);

}  // namespace gqaforge::db::detail

namespace gqaforge::db {

/// Statements a Database prepares once (writers and merges run them per row).
struct Database::Statements {
  std::optional<sql::Statement> find, other_best, clear_best, upsert, run_by_uid;
};

}  // namespace gqaforge::db
