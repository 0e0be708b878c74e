// The row helpers shared by the Database parts, and the checks of incoming rows.
#include "db/database.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
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

namespace gqaforge::db::detail {

using sql::Statement;
using sql::Transaction;

using sql::Statement;
using sql::Transaction;

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
    return data_loss("'{}' holds a measurement of kernel '{}' with unknown status '{}'", path, m.kernel_key, status);
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
  if (m.env_key.empty()) return invalid_argument("measurement of kernel '{}' has an empty env_key", m.kernel_key);
  if (m.kernel_key.empty()) {
    return invalid_argument("measurement for problem '{}' has an empty kernel_key", m.problem.canonical());
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
  return fmt::format("measurement of kernel '{}' for problem '{}' in environment '{}'", shown(m.kernel_key),
                     shown(m.problem.canonical()), shown(m.env_key));
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
         a.head_dim == b.head_dim && a.dtype == b.dtype && a.causal == b.causal && a.batch == b.batch &&
         a.q_len == b.q_len && a.kv_len == b.kv_len && a.gemm_m == b.gemm_m && a.gemm_n == b.gemm_n &&
         a.gemm_k == b.gemm_k && stored.config == m.config && stored.status == m.status &&
         stored.message == m.message && same_double(stored.median_us, m.median_us) &&
         same_double(stored.min_us, m.min_us) && same_double(stored.stddev_us, m.stddev_us) &&
         stored.repetitions == m.repetitions && same_double(stored.max_error, m.max_error) &&
         same_double(stored.error_bound, m.error_bound) && same_double(stored.tflops, m.tflops) &&
         same_double(stored.tbps, m.tbps) && same_double(stored.compile_ms, m.compile_ms) &&
         stored.registers == m.registers && stored.shared_bytes == m.shared_bytes &&
         stored.spill_bytes == m.spill_bytes && stored.is_best == is_best && stored.measured_at == m.measured_at &&
         stored.run_id == run_id.value_or(0);
}

std::string new_run_uid() {
  std::random_device rd;
  auto word = [&rd] { return (static_cast<uint64_t>(rd()) << 32) | rd(); };
  return fmt::format("{:016x}{:016x}", word(), word());
}

// Inserts the environment unless its key is present; true when a row was added.
Result<bool> insert_environment(sql::Connection& conn, const std::string& key, const Environment& e) {
  if (key.empty()) return invalid_argument("environment of GPU '{}' has an empty key", e.gpu_name);
  GQF_ASSIGN_OR_RETURN(Statement st,
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

Result<int64_t> insert_run(sql::Connection& conn, const std::string& uid, const TuneRunRecord& run) {
  GQF_ASSIGN_OR_RETURN(Statement st, conn.prepare("INSERT INTO tune_runs (uid, env_key, command_line, strategy, "
                                                  "started_at, finished_at) VALUES (?,?,?,?,?,?)"));
  st.bind(1, uid).bind(2, run.env_key).bind(3, run.command_line).bind(4, run.strategy);
  st.bind(5, run.started_at).bind(6, run.finished_at);
  GQF_RETURN_IF_ERROR(st.run());
  return conn.last_insert_rowid();
}

Result<Statement*> prepared(sql::Connection& conn, std::optional<Statement>& slot, std::string_view sql) {
  if (!slot) {
    GQF_ASSIGN_OR_RETURN(Statement st, conn.prepare(sql));
    slot = std::move(st);
  }
  slot->reset();
  return &*slot;
}

}  // namespace gqaforge::db::detail

namespace gqaforge::db {
using namespace detail;
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
  for (const auto& [column, value] : {std::pair<const char*, const std::string*>{"env_key", &m.env_key},
                                      {"family", &m.problem.family},
                                      {"dtype", &m.problem.dtype},
                                      {"kernel_key", &m.kernel_key},
                                      {"config", &m.config},
                                      {"message", &m.message},
                                      {"measured_at", &m.measured_at},
                                      {"run_uid", &entry.run_uid}}) {
    GQF_RETURN_IF_ERROR(no_nul(column, *value));
  }
  if (m.repetitions < 0) return invalid_argument("column 'repetitions': {} is negative", m.repetitions);
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
    return invalid_argument("column '{}': {} on an ok row, which needs a finite time > 0", column, v);
  };
  GQF_RETURN_IF_ERROR(positive("median_us", m.median_us));
  GQF_RETURN_IF_ERROR(positive("min_us", m.min_us));
  if (m.min_us > m.median_us) {
    return invalid_argument("column 'min_us': {} is larger than median_us {}", m.min_us, m.median_us);
  }
  if (!std::isfinite(m.stddev_us) || m.stddev_us < 0) {
    return invalid_argument("column 'stddev_us': {} on an ok row, which needs a finite deviation >= 0", m.stddev_us);
  }
  return ok_status();
}

}  // namespace gqaforge::db
