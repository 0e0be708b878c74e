// Where measured costs come from: the tuning database (db/), either a SQLite file or its text
// export (the bundled data/h200-tuned.tsv is such an export). This is the one integration
// point between costmodel and db.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "records/records.h"
#include "core/status.h"

namespace gqaforge::costmodel {

/// Measurement rows (ok status only) of one GPU model. Without an explicit environment key,
/// every environment of the GPU model with the most rows is used (several tuning runs, builds
/// or machines of one GPU model; a point measured more than once keeps its fastest time in
/// MeasuredCosts); rows of other GPU models are never mixed in and are named in `notes`.
struct LoadedMeasurements {
  std::vector<MeasurementRecord> rows;
  std::vector<std::string> env_keys;  // the environments used
  std::string gpu;                    // "NVIDIA H200 (132 SMs, cc 9.0)"
  double gpu_memory_bytes = 0;        // of that GPU, 0 when unknown
  std::vector<std::string> notes;
};

/// Reads `path`: a gqaforge SQLite database (opened read-only, best row per problem) or a text
/// export ("# gqaforge-db-export v1"). `env_key` selects one environment ("" = every
/// environment of the GPU model with the most rows).
Result<LoadedMeasurements> load_measurements(const std::string& path, const std::string& env_key = "");

/// Parses export text (see db/export.h).
Result<LoadedMeasurements> parse_measurement_export(std::string_view text, const std::string& source,
                                                    const std::string& env_key = "");

/// The H200 measurements compiled into the binary (data/h200-tuned.tsv); failed_precondition
/// when this build has none.
Result<LoadedMeasurements> bundled_measurements();

}  // namespace gqaforge::costmodel
