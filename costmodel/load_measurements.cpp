// Loading measurement rows from the database library (when built) or its text export.
#include "costmodel/load_measurements.h"

#include <map>

#include "core/fs.h"
#include "costmodel/embedded_data.h"

#if GQAFORGE_HAVE_DB
#include "db/database.h"
#include "db/export.h"
#endif

namespace gqaforge::costmodel {
namespace {

constexpr std::string_view kExportMagic = "# gqaforge-db-export";

// Keeps the ok rows of one environment.
Result<LoadedMeasurements> select_environment(std::vector<MeasurementRecord> rows, const std::string& env_key,
                                              const std::string& source) {
  std::map<std::string, size_t> counts;
  for (const MeasurementRecord& r : rows) {
    if (r.status == MeasureStatus::kOk) ++counts[r.env_key];
  }
  if (counts.empty()) return failed_precondition("{}: no measurement with status ok", source);
  LoadedMeasurements out;
  if (!env_key.empty()) {
    if (counts.count(env_key) == 0) {
      std::string have;
      for (const auto& [k, n] : counts) {
        if (!have.empty()) have += ", ";
        have += k;
      }
      return not_found("{}: no ok measurements for environment '{}' (it has {})", source, env_key, have);
    }
    out.env_key = env_key;
  } else {
    size_t best = 0;
    for (const auto& [k, n] : counts) {
      if (n > best) {
        best = n;
        out.env_key = k;
      }
    }
  }
  for (const auto& [k, n] : counts) {
    if (k != out.env_key) {
      out.notes.push_back(fmt::format("{}: ignoring {} rows of environment '{}' (using '{}')", source, n, k, out.env_key));
    }
  }
  for (MeasurementRecord& r : rows) {
    if (r.status == MeasureStatus::kOk && r.env_key == out.env_key) out.rows.push_back(std::move(r));
  }
  return out;
}

}  // namespace

Result<LoadedMeasurements> parse_measurement_export(std::string_view text, const std::string& source,
                                                    const std::string& env_key) {
#if GQAFORGE_HAVE_DB
  GQF_ASSIGN_OR_RETURN(DbContents contents, parse_export(text, source));
  std::vector<MeasurementRecord> rows;
  rows.reserve(contents.measurements.size());
  for (MeasurementEntry& e : contents.measurements) rows.push_back(std::move(e.record));
  GQF_ASSIGN_OR_RETURN(LoadedMeasurements out, select_environment(std::move(rows), env_key, source));
  for (const EnvironmentEntry& e : contents.environments) {
    if (e.key == out.env_key) out.gpu_memory_bytes = static_cast<double>(e.env.memory_bytes);
  }
  return out;
#else
  (void)text;
  (void)env_key;
  return failed_precondition("{}: this build has no database library (db/) to read measurements", source);
#endif
}

Result<LoadedMeasurements> load_measurements(const std::string& path, const std::string& env_key) {
  GQF_ASSIGN_OR_RETURN(std::string head, read_file(path));
  if (head.compare(0, kExportMagic.size(), kExportMagic) == 0) {
    return parse_measurement_export(head, path, env_key);
  }
#if GQAFORGE_HAVE_DB
  GQF_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::open(path, OpenMode::kReadOnly));
  GQF_ASSIGN_OR_RETURN(std::vector<MeasurementRecord> rows, db->best(MeasurementFilter{}));
  GQF_ASSIGN_OR_RETURN(LoadedMeasurements out, select_environment(std::move(rows), env_key, path));
  GQF_ASSIGN_OR_RETURN(std::vector<Environment> envs, db->environments());
  for (const Environment& e : envs) {
    if (e.key() == out.env_key) out.gpu_memory_bytes = static_cast<double>(e.memory_bytes);
  }
  return out;
#else
  return failed_precondition("{}: this build has no database library (db/) to read measurements", path);
#endif
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
