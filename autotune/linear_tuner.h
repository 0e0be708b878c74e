// The linear layers' loop of `gqaforge tune --linear`: every GEMM shape timed once through the
// backend's measure_gemm (the CUDA backend: cuBLASLt's heuristic choice, the full timing
// protocol) and recorded as the best row of its problem. A shape the sink already holds is
// skipped, so running the same command again resumes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autotune/backend.h"
#include "autotune/linear.h"

namespace gqaforge::autotune {

struct LinearTuneOptions {
  MeasureOptions measure;  // 0 = the timing protocol's defaults
  bool show_progress = true;
  std::string command_line;  // recorded with the run
};

struct LinearTuneReport {
  int64_t run_id = 0;
  int64_t timed = 0;     // shapes measured and recorded this run
  int64_t skipped = 0;   // shapes the sink held already
  int64_t failures = 0;  // rows recorded with a status other than ok
};

/// Called with each shape's row once it is recorded; returning false ends the loop (a
/// failure that every later shape would repeat).
using GemmTimed = std::function<bool(const GemmShape& shape, const MeasurementRecord& row)>;

/// Times `gemms` on `backend` and records them through `sink` as one run of strategy
/// "linear". Stops early at SIGINT/SIGTERM (core/interrupt.h) and at the sink's first error;
/// fails when the backend has no info or the sink failed (the rows stored until then stay).
Result<LinearTuneReport> tune_linear(Backend& backend, MeasurementSink& sink, const std::vector<GemmShape>& gemms,
                                     const LinearTuneOptions& options, const GemmTimed& on_timed);

}  // namespace gqaforge::autotune
