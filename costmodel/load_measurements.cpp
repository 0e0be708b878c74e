// Loading measurement rows from the database library (when built) or its text export.
#include "costmodel/load_measurements.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/fs.h"
#include "costmodel/embedded_data.h"

#include "db/database.h"
#include "db/export.h"

namespace gqaforge::costmodel {
namespace {

constexpr std::string_view kExportMagic = "# gqaforge-db-export";

std::string gpu_of(const Environment& e) {
  return fmt::format("{} ({} SMs, cc {}.{})", e.gpu_name, e.sm_count, e.cc_major, e.cc_minor);
}

// Keeps the ok rows of one environment (`env_key`) or of every environment of the GPU model
// with the most ok rows. `envs` maps environment keys to their records.
Result<LoadedMeasurements> select_rows(std::vector<MeasurementRecord> rows,
                                       const std::map<std::string, Environment>& envs, const std::string& env_key,
                                       const std::string& source) {
  auto gpu_of_key = [&](const std::string& key) {
    auto it = envs.find(key);
    return it == envs.end() ? fmt::format("environment {}", key) : gpu_of(it->second);
  };
  std::map<std::string, size_t> by_env;
  for (const MeasurementRecord& r : rows) {
    if (r.status == MeasureStatus::kOk) ++by_env[r.env_key];
  }
  if (by_env.empty()) return failed_precondition("{}: no measurement with status ok", source);
  LoadedMeasurements out;
  if (!env_key.empty()) {
    if (by_env.count(env_key) == 0) {
      std::string have;
      for (const auto& [k, n] : by_env) have += fmt::format("{}{}", have.empty() ? "" : ", ", k);
      return not_found("{}: no ok measurements for environment '{}' (it has {})", source, env_key, have);
    }
    out.env_keys = {env_key};
    out.gpu = gpu_of_key(env_key);
  } else {
    std::map<std::string, size_t> by_gpu;
    for (const auto& [k, n] : by_env) by_gpu[gpu_of_key(k)] += n;
    size_t most = 0;
    for (const auto& [gpu, n] : by_gpu) {
      if (n > most) {
        most = n;
        out.gpu = gpu;
      }
    }
    for (const auto& [k, n] : by_env) {
      if (gpu_of_key(k) == out.gpu) out.env_keys.push_back(k);
    }
    for (const auto& [gpu, n] : by_gpu) {
      if (gpu != out.gpu)
        out.notes.push_back(fmt::format("{}: ignoring {} rows measured on {} (using {})", source, n, gpu, out.gpu));
    }
  }
  for (const std::string& k : out.env_keys) {
    if (auto it = envs.find(k); it != envs.end()) {
      out.gpu_memory_bytes = std::max(out.gpu_memory_bytes, static_cast<double>(it->second.memory_bytes));
    }
  }
  // A problem whose tuning marked a best row (re-measured with the full timing protocol)
  // contributes that row alone; the other tries were timed briefly, to rank them.
  std::set<std::string> with_best;
  for (const MeasurementRecord& r : rows) {
    if (r.status == MeasureStatus::kOk && r.is_best) with_best.insert(r.env_key + "|" + r.problem.canonical());
  }
  for (MeasurementRecord& r : rows) {
    if (r.status != MeasureStatus::kOk) continue;
    if (std::find(out.env_keys.begin(), out.env_keys.end(), r.env_key) == out.env_keys.end()) continue;
    if (!r.is_best && with_best.count(r.env_key + "|" + r.problem.canonical()) != 0) continue;
    out.rows.push_back(std::move(r));
  }
  return out;
}

}  // namespace

Result<LoadedMeasurements> parse_measurement_export(std::string_view text, const std::string& source,
                                                    const std::string& env_key) {
  GQF_ASSIGN_OR_RETURN(db::DbContents contents, db::parse_export(text, source));
  std::vector<MeasurementRecord> rows;
  rows.reserve(contents.measurements.size());
  for (db::MeasurementEntry& e : contents.measurements) rows.push_back(std::move(e.record));
  std::map<std::string, Environment> envs;
  for (const db::EnvironmentEntry& e : contents.environments) envs.emplace(e.key, e.env);
  return select_rows(std::move(rows), envs, env_key, source);
}

Result<LoadedMeasurements> load_measurements(const std::string& path, const std::string& env_key) {
  GQF_ASSIGN_OR_RETURN(std::string head, read_file(path));
  if (head.empty()) {
    // Not "migrate it": a read-only command must not suggest turning someone's file into a database.
    return invalid_argument("'{}' is empty: not a gqaforge database (SQLite) or its text export", path);
  }
  if (head.compare(0, kExportMagic.size(), kExportMagic) == 0) {
    return parse_measurement_export(head, path, env_key);
  }
  GQF_ASSIGN_OR_RETURN(std::unique_ptr<db::Database> db, db::Database::open(path, db::OpenMode::kReadOnly));
  GQF_ASSIGN_OR_RETURN(std::vector<MeasurementRecord> rows, db->best(db::MeasurementFilter{}));
  GQF_ASSIGN_OR_RETURN(std::vector<Environment> list, db->environments());
  std::map<std::string, Environment> envs;
  for (const Environment& e : list) envs.emplace(e.key(), e);
  return select_rows(std::move(rows), envs, env_key, path);
}

Result<LoadedMeasurements> bundled_measurements() {
  auto text = embedded_file("h200-tuned.tsv");
  if (!text) {
    return failed_precondition(
        "no bundled measurements in this build (data/h200-tuned.tsv was absent at build time): pass --db with a "
        "tuning database or its export for the latency and throughput objectives");
  }
  return parse_measurement_export(*text, "<embedded>/h200-tuned.tsv");
}

}  // namespace gqaforge::costmodel
