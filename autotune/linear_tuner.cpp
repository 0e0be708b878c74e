// The linear layers' GEMM loop.
#include "autotune/linear_tuner.h"

#include <algorithm>

#include "core/interrupt.h"
#include "core/progress.h"
#include "core/time.h"

namespace gqaforge::autotune {

Result<LinearTuneReport> tune_linear(Backend& backend, MeasurementSink& sink, const std::vector<GemmShape>& gemms,
                                     const LinearTuneOptions& options, const GemmTimed& on_timed) {
  GQF_ASSIGN_OR_RETURN(BackendInfo info, backend.info());
  const std::string env_key = info.environment.key();
  TuneRunRecord run;
  run.env_key = env_key;
  run.command_line = options.command_line;
  run.strategy = "linear";
  LinearTuneReport report;
  report.run_id = sink.begin_run(info.environment, run);
  Progress progress("timing gemms", static_cast<int64_t>(gemms.size()), options.show_progress);
  for (const GemmShape& g : gemms) {
    if (interrupted() || !sink.sink_status().ok()) break;
    MeasurementRecord row;
    row.run_id = report.run_id;
    row.env_key = env_key;
    row.problem = linear_problem_record(g);
    row.kernel_key = linear_kernel_key(g, env_key);
    row.config = "cublaslt bf16 tn heuristic-0";
    const std::vector<MeasurementRecord> stored = sink.stored_rows(env_key, row.problem);
    const auto same_kernel = [&row](const MeasurementRecord& r) { return r.kernel_key == row.kernel_key; };
    if (std::any_of(stored.begin(), stored.end(), same_kernel)) {
      ++report.skipped;
      progress.advance(1, "skipped (measured before)");
      continue;
    }
    // One variant per shape, recorded as its best: the full timing protocol.
    const MeasureResult m = backend.measure_gemm(g.m, g.n, g.k, options.measure);
    row.status = m.status;
    row.message = m.message;
    row.median_us = m.median_us;
    row.min_us = m.min_us;
    row.stddev_us = m.stddev_us;
    row.repetitions = m.repetitions;
    if (m.status == MeasureStatus::kOk && m.median_us > 0) row.tflops = gemm_flops(g) / (m.median_us * 1e-6) / 1e12;
    row.is_best = m.status == MeasureStatus::kOk;  // one variant per shape
    row.measured_at = utc_timestamp();
    sink.record(row);
    ++report.timed;
    progress.advance(1, g.name);
    if (m.status != MeasureStatus::kOk) ++report.failures;
    if (!on_timed(g, row)) break;
  }
  progress.finish();
  sink.end_run(report.run_id);
  GQF_RETURN_IF_ERROR(sink.sink_status());
  return report;
}

}  // namespace gqaforge::autotune
